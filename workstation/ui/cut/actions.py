"""The Cut view's toolbar and keyboard: its actions, which key runs what, and when each is usable.

Kept apart from the view so the view reads as layout and wiring: every shortcut id of
:mod:`workstation.ui.common.shortcuts` that the Cut view answers is bound here, to the view's
edits, player and timeline, through one :class:`ActionBinder` (so remapped keys apply at once).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtGui import QUndoStack

from workstation.ui.common.shortcuts import ActionBinder, ShortcutMap

if TYPE_CHECKING:
    from workstation.ui.cut.view import CutView


class CutActions:
    """The toolbar's job buttons, undo/redo, and every key binding of the Cut view."""

    def __init__(self, view: CutView) -> None:
        self.shortcuts: ShortcutMap = view.shortcuts
        tb = view.toolbar
        self.detect = tb.addAction("Detect cuts", view.detect)
        self.detect.setToolTip(
            "Find the cuts of the selected videos (a job each; cuts appear as they are found)"
        )
        self.detect_settings = tb.addAction(
            "Detect with settings…", lambda: view.edit_detection_settings()
        )
        self.detect_settings.setToolTip(
            "Choose the detector and its settings (kept per project), then detect the selected "
            "or all videos"
        )
        self.import_ = tb.addAction("Import cuts…", view.import_cuts)
        self.import_.setToolTip(
            "Replace this video's cuts with a cut file's "
            "(sidecar, PySceneDetect CSV, FFMETADATA, EDL)"
        )
        self.export = tb.addAction("Export cuts…", view.export_cuts)
        self.slice = tb.addAction("Slice…", view.slice)
        self.slice.setToolTip(
            "Choose frame rate, size and lengths, then write every kept segment of the "
            "selected videos as a frame-exact clip"
        )
        self.reviewed = tb.addAction("Mark cuts reviewed")
        self.reviewed.setCheckable(True)
        self.reviewed.toggled.connect(view.set_reviewed)
        tb.addSeparator()

        b = self.binder = ActionBinder(view, self.shortcuts)
        self.undo = b.bind("edit.undo", view.undo)
        self.redo = b.bind("edit.redo", view.redo)
        self.undo.setText("Undo")
        self.redo.setText("Redo")
        tb.addAction(self.undo)
        tb.addAction(self.redo)
        for sid, handler in _key_handlers(view).items():
            b.bind(sid, handler)
        help_action = b.actions["help.shortcuts"]
        help_action.setText("Shortcuts")
        tb.addAction(help_action)
        b.refresh()

    def update_enabled(self, has_video: bool, detecting: bool, stack: QUndoStack | None) -> None:
        """Job buttons need a video (Detect: one not being detected); undo/redo need steps."""
        for a in (self.detect, self.import_, self.export, self.slice, self.reviewed):
            a.setEnabled(has_video)
        if has_video and detecting:
            self.detect.setEnabled(False)
        self.undo.setEnabled(bool(stack and stack.canUndo()))
        self.redo.setEnabled(bool(stack and stack.canRedo()))
        if stack is not None:
            self.undo.setToolTip(f"Undo {stack.undoText()} ({self.shortcuts.text('edit.undo')})")
            self.redo.setToolTip(f"Redo {stack.redoText()} ({self.shortcuts.text('edit.redo')})")


def _key_handlers(view: CutView) -> dict[str, Callable[[], object]]:
    """What each shortcut id does in the Cut view."""
    edits, player, timeline = view.edits, view.player, view.timeline
    return {
        "cut.add": edits.add_cut_at_playhead,
        "cut.delete": lambda: edits.delete_cut(timeline.selected_cut),
        "cut.prev": lambda: view.step_cut(-1),
        "cut.next": lambda: view.step_cut(1),
        "cut.nudge_left": lambda: edits.nudge(-1),
        "cut.nudge_right": lambda: edits.nudge(1),
        "cut.accept": lambda: edits.accept_cut(timeline.selected_cut),
        "cut.next_uncertain": lambda: edits.step_uncertain(1),
        "cut.prev_uncertain": lambda: edits.step_uncertain(-1),
        "segment.toggle_reject": edits.toggle_reject_at_playhead,
        "segment.merge_next": edits.merge_at_playhead,
        "player.toggle": player.toggle_play,
        "player.j": lambda: player.jkl("J"),
        "player.k": lambda: player.jkl("K"),
        "player.l": lambda: player.jkl("L"),
        "player.step_back": lambda: player.step(-1),
        "player.step_forward": lambda: player.step(1),
        "timeline.zoom_in": lambda: timeline.zoom_by(1.5),
        "timeline.zoom_out": lambda: timeline.zoom_by(1 / 1.5),
        "timeline.fit": timeline.fit,
        "timeline.start": lambda: view.seek(0),
        "timeline.end": lambda: view.seek(timeline.frame_count - 1),
        "help.shortcuts": view.help.toggle,
    }
