"""The cut review strip shows frames N-3 … N+2 for cut N (checked by each frame's barcode)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QImage

from workstation.core import synth
from workstation.core.store import Cut
from workstation.core.thumbs import ThumbSource
from workstation.ui.common.thumb_loader import ThumbLoader
from workstation.ui.cut.review_strip import STRIP_H, ReviewStrip


def barcode(img: QImage) -> int | None:
    img = img.convertToFormat(QImage.Format.Format_RGB888)
    arr = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
    return synth.read_frame_number(arr[:, : img.width() * 3].reshape(img.height(), img.width(), 3))


@pytest.fixture()
def strip(qtbot, demo_project):
    vid = demo_project.find_video("demo_transitions.mp4").id
    source = ThumbSource.from_project(demo_project, vid)
    loader = ThumbLoader(demo_project.cache_dir)
    widget = ReviewStrip(loader)
    qtbot.addWidget(widget)
    widget.show()
    yield widget, source
    loader.wait_idle()


def test_strip_shows_the_frames_around_the_cut(qtbot, strip):
    widget, source = strip
    widget.set_cut(source, Cut(50, "auto", score=0.8))
    assert widget.frames() == [47, 48, 49, 50, 51, 52]
    qtbot.waitUntil(lambda: len(widget.images()) == 6, timeout=20000)
    assert {f: barcode(img) for f, img in widget.images().items()} == {f: f for f in range(47, 53)}
    assert all(img.height() == STRIP_H for img in widget.images().values())
    # The first frame of the new shot is the one marked.
    marked = [t.frame for t in widget.tiles if "new shot" in t.caption.text()]
    assert marked == [50]


def test_strip_clips_at_the_start_of_the_video(qtbot, strip):
    widget, source = strip
    widget.set_cut(source, Cut(2, "manual"))
    assert widget.frames() == [0, 1, 2, 3, 4]
    qtbot.waitUntil(lambda: len(widget.images()) == 5, timeout=20000)
    assert sorted(barcode(i) for i in widget.images().values()) == [0, 1, 2, 3, 4]


def test_strip_buttons_ask_for_edits(qtbot, strip):
    widget, source = strip
    widget.set_cut(source, Cut(50, "auto", uncertain=True))
    assert "uncertain" in widget.title.text()
    with qtbot.waitSignal(widget.acceptRequested) as sig:
        widget.accept_button.click()
    assert sig.args == [50]
    with qtbot.waitSignal(widget.nudgeRequested) as sig:
        widget.left_button.click()
    assert sig.args == [50, -1]
    with qtbot.waitSignal(widget.nudgeRequested) as sig:
        widget.right_button.click()
    assert sig.args == [50, 1]
    with qtbot.waitSignal(widget.deleteRequested) as sig:
        widget.delete_button.click()
    assert sig.args == [50]
    widget.set_cut(source, None)
    assert widget.frames() == [] and not widget.accept_button.isEnabled()


def test_clicking_a_tile_asks_to_show_that_frame(qtbot, strip):
    from PySide6.QtCore import Qt

    widget, source = strip
    widget.set_cut(source, Cut(50, "auto"))
    with qtbot.waitSignal(widget.seekRequested) as sig:
        qtbot.mouseClick(widget.tiles[1], Qt.MouseButton.LeftButton)
    assert sig.args == [48]


def test_strip_says_why_a_transition_was_cut(qtbot, strip):
    widget, source = strip
    fade = Cut(
        43,
        "auto",
        "transnetv2",
        0.734,
        "fade",
        39,
        47,
        uncertain=True,
        params={"hold": [48, 72], "split_from": 59},
    )
    widget.set_cut(source, fade)
    title, details = widget.title.text(), widget.why.text()
    assert "detected fade, frames 39–47" in title and "network probability 0.73" in title
    assert "uncertain" in title and "the network is not sure" in details
    assert "hold follows (frames 48–71)" in details and "by transnetv2" in details
    assert "left out of clips" in details
    widget.set_cut(source, Cut(50, "auto", "ensemble", 1.84))
    assert "hard cut" in widget.title.text() and "1.84× the line" in widget.title.text()
    assert "uncertain" not in widget.title.text() + widget.why.text()
    widget.set_cut(source, None)
    assert widget.why.text() == ""


def test_doubtful_first_is_a_toggle_that_says_so(qtbot, strip):
    widget, _source = strip
    assert not widget.doubtful_first.isChecked()
    with qtbot.waitSignal(widget.doubtfulFirstToggled) as sig:
        widget.doubtful_first.click()
    assert sig.args == [True]
