"""Property-based fuzzing of the cut file readers (sidecar, PySceneDetect CSV, EDL, FFMETADATA).

Whatever a file holds, reading it either gives cuts or raises the project's own error (a
WorkstationError whose text names the file): never a ValueError, IndexError or RecursionError
from deep inside.  And what the writers write, the readers read back as the same cuts, whatever
the video is called.  Bounded and derandomized, so CI runs the same examples in a few seconds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workstation.core import cutfiles
from workstation.core.cutfiles import ImportedCuts
from workstation.core.errors import WorkstationError
from workstation.core.media import FrameIndex
from workstation.core.store import Cut, Video

FUZZ = settings(
    max_examples=120,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
ROUND_TRIP = settings(FUZZ, max_examples=30)

PATH = Path("fuzz.cuts.txt")
FPS = [Fraction(25), Fraction(24000, 1001), Fraction(30000, 1001), Fraction(60), Fraction(1000)]


def make_video(name: str = "clip.mp4", frames: int = 250, fps: Fraction = Fraction(25)) -> Video:
    return Video(
        id=1,
        path=Path("/videos") / name,
        content_id="0123456789abcdef",
        size_bytes=1,
        fps=fps,
        frame_count=frames,
        duration=float(frames / fps),
        width=64,
        height=64,
        rotation=0,
        vfr=False,
        codec="h264",
        cuts_reviewed=False,
    )


VIDEO = make_video()
# A variable-frame-rate index: 40 ms frames with some 80 ms ones (ms time base).
VFR_INDEX = FrameIndex(
    tuple(40 * i + 40 * (i // 7) for i in range(VIDEO.frame_count)), Fraction(1, 1000)
)

Reader = Callable[[str], ImportedCuts]
READERS: dict[str, Reader] = {
    "sidecar": lambda t: cutfiles.parse_sidecar(t, PATH, VIDEO),
    "sidecar-vfr": lambda t: cutfiles.parse_sidecar(t, PATH, VIDEO, VFR_INDEX),
    "csv": lambda t: cutfiles.parse_csv(t, PATH, VIDEO),
    "edl": lambda t: cutfiles.parse_edl(t, PATH, VIDEO),
    "ffmetadata": lambda t: cutfiles.parse_ffmetadata(t, PATH, VIDEO),
    "ffmetadata-vfr": lambda t: cutfiles.parse_ffmetadata(t, PATH, VIDEO, VFR_INDEX),
}


def read_all(text: str) -> None:
    """Every reader on ``text``: cuts (inside the video, sorted) or a WorkstationError."""
    for name, read in READERS.items():
        try:
            got = read(text)
        except WorkstationError as exc:
            assert str(exc).startswith(str(PATH)), (name, str(exc))
            assert "\n" not in str(exc).replace(VIDEO.name, ""), (name, str(exc))
            continue
        assert got.frames == sorted(set(got.frames)), name
        assert all(0 < f < VIDEO.frame_count for f in got.frames), name
        assert all(0 <= f < VIDEO.frame_count for f in got.rejected_starts), name


# Words the readers know, their near misses and tricky characters, so random lines get deep.
# fmt: off
WORDS = [
    "00:00:01.000", "00:00:09.960", "00:00:10.000", "99:00:00.000", "00:61.0", "1:00:00",
    "0", "1", "12", "249", "250", "251", "-1", "+5", "1_0", "٣", "²0", "1" * 30, "9" * 5000,
    "auto", "manual", "reject", "keep", "uncertain", "score=1.5", "score=nan", "score=1e999",
    "score=١", "detector=content", "detector=", "kind=fade", "kind=X", "span=3-9", "span=9-3",
    "span=²-3", "uncertain=1", "uncertain=maybe", "=", "#", "# fps: 25/1  frames: 250",
    "# fps: 25/1  frames: 12", "# fps: 1/1 frames: " + "7" * 5000,
    "Scene Number,Start Frame,End Frame", "Timecode List:", "1,1,100", "2,101,250", "3,x,y",
    ",,,", '"', '"a\nb"', "\x00", "\r", "\x0c", "\u2028", "\x85", "\\", "\\\n",
    ";FFMETADATA1", "[CHAPTER]", "[STREAM]", "TIMEBASE=1/25", "TIMEBASE=1/0", "TIMEBASE=1e9999",
    "START=0", "START=-40", "END=100", "END=250", "END=" + "9" * 400, "workstation_keep=0",
    "TITLE: x", "FCM: NON-DROP FRAME", "FCM: DROP FRAME", "* WORKSTATION: REJECTED",
    "001  AX       V     C        00:00:00:00 00:00:04:00 00:00:00:00 00:00:04:00",
    "002  AX       V     C        00:00:04:00 00:00:10:00 00:00:04:00 00:00:10:00",
    "003  AX V C 00:00:09:00 00:00:99:99 00:00:09:00 00:00:99:99",
]
# fmt: on
word = st.sampled_from(WORDS) | st.text(max_size=6)
line = st.lists(word, max_size=6).map(" ".join) | st.lists(word, max_size=4).map(",".join)
lines_text = st.lists(line, max_size=12).map("\n".join)


@FUZZ
@given(st.text(max_size=400))
def test_arbitrary_text_gives_cuts_or_a_cut_file_error(text):
    read_all(text)


@FUZZ
@given(lines_text)
def test_lines_of_known_words_give_cuts_or_a_cut_file_error(text):
    read_all(text)
    read_all(";FFMETADATA1\n[CHAPTER]\n" + text)
    read_all("Scene Number,Start Frame,End Frame\n" + text)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """One folder for every example (a function-scoped tmp_path would be shared anyway)."""
    return tmp_path_factory.mktemp("fuzz")


@FUZZ
@given(st.binary(max_size=300) | lines_text.map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_arbitrary_bytes_in_a_file_give_cuts_or_a_cut_file_error(folder, data):
    p = folder / "bytes.cuts.txt"
    p.write_bytes(data)
    try:
        cutfiles.read_cut_file(p, VIDEO)
    except WorkstationError as exc:
        assert str(exc).startswith(str(p))


# --- valid files, then mutated ---------------------------------------------------------------

# Names are where line breaks and the formats' special characters sneak into a file.
name_chars = st.sampled_from("\n\r\x0b\x0c\x1c\x85\u2028\t\\=;#[]*: ") | st.characters()
video_names = st.text(name_chars, min_size=1, max_size=30).filter(
    lambda n: "/" not in n and "\x00" not in n
)


@st.composite
def cut_lists(draw, frames: int = VIDEO.frame_count) -> tuple[list[Cut], set[int]]:
    chosen = draw(st.lists(st.integers(1, frames - 1), unique=True, min_size=1, max_size=20))
    cuts = [
        Cut(
            f,
            draw(st.sampled_from(["auto", "manual"])),
            draw(st.none() | st.sampled_from(["content", "adaptive", "my det", "trans#net"])),
            draw(st.none() | st.floats(allow_nan=True, allow_infinity=True)),
            draw(st.sampled_from(["cut", "fade", "dissolve", "Wipe 2"])),
            *draw(st.none() | st.tuples(st.integers(0, frames), st.integers(0, frames)))
            or (None, None),
            draw(st.booleans()),
        )
        for f in sorted(chosen)
    ]
    rejected = set(draw(st.lists(st.sampled_from([0, *chosen]), unique=True, max_size=5)))
    return cuts, rejected


def render(fmt: str, video: Video, cuts: list[Cut], rejected: set[int], index=None) -> str:
    if fmt == "sidecar":
        return cutfiles.render_sidecar(video, cuts, rejected, index)
    if fmt == "csv":
        return cutfiles.render_csv(video, cuts)
    if fmt == "ffmetadata":
        return cutfiles.render_ffmetadata(video, cuts, rejected, index)
    return cutfiles.render_edl(video, cuts, rejected)


@st.composite
def mutated(draw) -> str:
    """A valid file of some format with a few of its lines replaced, added, dropped or cut."""
    fmt = draw(st.sampled_from(cutfiles.FORMATS))
    cuts, rejected = draw(cut_lists())
    rows = render(fmt, VIDEO, cuts, rejected).split("\n")
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(rows) - 1))
        how = draw(st.sampled_from(["replace", "insert", "drop", "truncate", "duplicate", "edit"]))
        if how == "replace":
            rows[i] = draw(line)
        elif how == "insert":
            rows.insert(i, draw(line))
        elif how == "drop" and len(rows) > 1:
            del rows[i]
        elif how == "truncate":
            rows[i] = rows[i][: draw(st.integers(0, len(rows[i])))]
        elif how == "duplicate":
            rows.insert(i, rows[i])
        elif rows[i]:
            j = draw(st.integers(0, len(rows[i]) - 1))
            rows[i] = (
                rows[i][:j]
                + draw(st.sampled_from(WORDS[:40]) | st.text(max_size=2))
                + rows[i][j + 1 :]
            )
    return "\n".join(rows)


@FUZZ
@given(mutated())
def test_valid_files_with_mutated_lines_give_cuts_or_a_cut_file_error(text):
    read_all(text)


# --- round trips ---------------------------------------------------------------------------


def _same_sidecar_fields(back: Cut, cut: Cut) -> None:
    assert back.source == cut.source
    assert back.uncertain == cut.uncertain
    assert back.kind == (re.sub("[^a-z_]", "_", cut.kind.lower()) if cut.kind else "cut")
    if cut.detector:
        assert back.detector == cut.detector.replace(" ", "_").replace("#", "_")
    if cut.score is not None and abs(cut.score) < float("inf") and cut.score == cut.score:
        assert back.score is not None and abs(back.score - cut.score) <= max(
            1e-4, abs(cut.score) * 1e-5
        )
    else:
        assert back.score is None
    if cut.span_start is not None and cut.span_end is not None and cut.span_start <= cut.span_end:
        assert (back.span_start, back.span_end) == (cut.span_start, cut.span_end)


@pytest.mark.parametrize("fmt", cutfiles.FORMATS)
@ROUND_TRIP
@given(
    video_names,
    st.sampled_from(FPS),
    st.integers(2, 20000),
    st.data(),
)
def test_render_then_read_gives_the_same_cuts(folder, fmt, name, fps, frames, data):
    video = make_video(name, frames, fps)
    cuts, rejected = data.draw(cut_lists(frames))
    p = folder / f"round.{fmt}"
    p.write_text(render(fmt, video, cuts, rejected), encoding="utf-8")
    back = cutfiles.read_cut_file(p, video)  # through the file: sniffing, universal newlines
    assert back.frames == [c.frame for c in cuts]
    if fmt != "csv":  # a PySceneDetect scene list cannot say 'rejected'
        assert set(back.rejected_starts) == rejected
    if fmt == "sidecar":
        for b, c in zip(back.cuts, cuts, strict=True):
            _same_sidecar_fields(b, c)


@ROUND_TRIP
@given(st.sampled_from(["sidecar", "ffmetadata"]), video_names, st.data())
def test_vfr_round_trip_is_exact(fmt, name, data):
    video = make_video(name)
    cuts, rejected = data.draw(cut_lists())
    text = render(fmt, video, cuts, rejected, VFR_INDEX)
    read = cutfiles.parse_sidecar if fmt == "sidecar" else cutfiles.parse_ffmetadata
    back = read(text, PATH, video, VFR_INDEX)
    assert back.frames == [c.frame for c in cuts]
    assert set(back.rejected_starts) == rejected
