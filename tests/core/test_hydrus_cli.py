"""``workstation hydrus connect|sync|status|conflicts|resolve`` against the fake Hydrus."""

from __future__ import annotations

import io
import json
import logging

import pytest

from tests.core import hydrus_fixtures as hf
from tests.core.hydrus_fake import KEY, TAG_KEY
from workstation.cli import main
from workstation.core import review

fake, linked = hf.fake, hf.linked
make_clips, run, sha = hf.make_clips, hf.run, hf.sha


def lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_connect_sync_status_and_the_key_is_never_printed(
    project, fake, capsys, caplog, monkeypatch
):
    caplog.set_level(logging.DEBUG)
    ids = make_clips(project)
    review.add_tags(project, ids, ["Blue Sky"])
    review.set_caption(project, [ids[0]], "A caption.")
    root = str(project.root)
    monkeypatch.setattr("sys.stdin", io.StringIO(KEY + "\n"))
    assert main(["hydrus", "connect", root, "--url", fake.url, "--key", "-", "--json"]) == 0
    connected = lines(capsys.readouterr().out)[0]
    assert connected["tag_service_key"] == TAG_KEY and connected["missing"] == []
    assert main(["hydrus", "status", root, "--json"]) == 0
    st = lines(capsys.readouterr().out)[0]
    assert st["pending"] == 7 and st["url"] == fake.url and st["last_sync"] is None
    assert main(["hydrus", "sync", root, "-q", "--json"]) == 0
    assert lines(capsys.readouterr().out)[0]["files_added"] == 3
    assert main(["hydrus", "status", root, "--json"]) == 0
    st = lines(capsys.readouterr().out)[0]
    assert st["pending"] == 0 and st["mirrored"] == 3 and st["last_sync"] and st["conflicts"] == 0
    fake.stop()
    assert main(["hydrus", "sync", root, "-q", "--retries", "0"]) == 1
    assert main(["hydrus", "status", root]) == 0
    out = capsys.readouterr()
    assert "not running" in out.out + out.err
    everything = out.out + out.err + caplog.text
    assert KEY not in everything and KEY not in connected.__repr__()


def test_bad_usage_and_errors_are_one_sentence(project, fake, capsys):
    make_clips(project, 1)
    root = str(project.root)
    assert main(["hydrus", "sync", root]) == 1
    assert "not connected to Hydrus" in capsys.readouterr().err
    assert main(["hydrus", "connect", root, "--url", fake.url, "--key", "wrong"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "403" in err and "Traceback" not in err
    assert main(["hydrus", "connect", root, "--url", fake.url, "--key", KEY]) == 0
    with pytest.raises(SystemExit) as usage:
        main(["hydrus", "sync", root, "--push", "--pull"])
    assert usage.value.code == 2 and "not allowed with" in capsys.readouterr().err
    assert main(["hydrus", "connect", root, "--url", "localhost:45869", "--key", KEY]) == 1
    assert "must start with http://" in capsys.readouterr().err


def test_conflicts_listed_and_resolved_from_the_cli(project, fake, capsys):
    ids = make_clips(project, 1)
    review.set_caption(project, ids, "Base.")
    root = str(project.root)
    assert main(["hydrus", "connect", root, "--url", fake.url, "--key", KEY]) == 0
    assert main(["hydrus", "sync", root, "-q"]) == 0
    h = project.hydrus_clip_rows()[ids[0]]["sha256"]
    fake.set_note_as_person(h, "Theirs.")
    review.set_caption(project, ids, "Ours.")
    assert main(["hydrus", "sync", root, "-q"]) == 0
    capsys.readouterr()
    assert main(["hydrus", "conflicts", root, "--json"]) == 0
    [conflict] = json.loads(capsys.readouterr().out)
    assert (conflict["ours"], conflict["theirs"]) == ("Ours.", "Theirs.")
    assert main(["hydrus", "resolve", root, str(conflict["id"]), "merged"]) == 2
    assert main(["hydrus", "resolve", root, str(conflict["id"]), "hydrus"]) == 0
    assert main(["hydrus", "sync", root, "-q"]) == 0
    assert (
        project.caption_texts(ids)[ids[0]] == "Theirs."
        and fake.committed.notes[h]["caption"] == "Theirs."
    )


def test_the_internal_error_log_masks_the_key():
    from workstation.cli import _without_secrets

    assert _without_secrets(["hydrus", "connect", "D", "--key", KEY, "--key=" + KEY]) == [
        "hydrus",
        "connect",
        "D",
        "--key",
        "***",
        "--key=***",
    ]
