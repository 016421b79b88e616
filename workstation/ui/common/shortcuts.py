"""Every keyboard shortcut of the Cut and Clips views, declared once: id, label, default keys.

The registry is the single place a key is named.  The views bind handlers to ids (never to key
strings), the help overlay (F1 or ?) lists the registry, and a person's remapping is stored as
a small ``{id: [keys]}`` dict of overrides in the app settings, so a new default in a later
version still reaches everyone who did not change that shortcut.

The keys of a view work anywhere in its window while that view is shown: :class:`ActionBinder`
makes window-wide actions on the view (``Qt.WindowShortcut``), and Qt runs a window shortcut only
while the widget carrying it is visible, i.e. while its tab is current.  So a click in the Videos
dock, the jobs panel or on the picture does not take the keys away; a text field still gets the
keys it types.  ``EDITING`` names the actions that change the project (disabled on a read-only
one).

Buttons: :class:`~workstation.ui.common.button_keys.ButtonKeys`, installed with the first
binder, keeps a clicked button from taking Space away from playback.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QKeySequenceEdit,
    QLabel,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workstation.ui.common.button_keys import ButtonKeys

log = logging.getLogger(__name__)
SETTINGS_KEY = "shortcuts"


@dataclass(frozen=True)
class ShortcutSpec:
    id: str
    label: str
    keys: tuple[str, ...]  # default key sequences, portable text ("Ctrl+Z")
    group: str


def _s(group: str, rows: Iterable[tuple[str, str, tuple[str, ...]]]) -> list[ShortcutSpec]:
    return [ShortcutSpec(i, label, keys, group) for i, label, keys in rows]


CUT_SHORTCUTS: tuple[ShortcutSpec, ...] = tuple(
    _s(
        "Cuts",
        [
            ("cut.add", "Add a cut at the playhead", ("C", "Return")),
            ("cut.delete", "Delete the selected cut", ("Delete", "Backspace")),
            ("cut.prev", "Select the previous cut", ("[",)),
            ("cut.next", "Select the next cut", ("]",)),
            ("cut.nudge_left", "Nudge the selected cut one frame earlier", ("Alt+,", "Alt+Left")),
            ("cut.nudge_right", "Nudge the selected cut one frame later", ("Alt+.", "Alt+Right")),
            ("cut.accept", "Accept the selected cut (mark it reviewed)", ("A",)),
            ("cut.next_uncertain", "Jump to the next uncertain cut", ("U",)),
            ("cut.prev_uncertain", "Jump to the previous uncertain cut", ("Shift+U",)),
        ],
    )
    + _s(
        "Segments",
        [
            ("segment.toggle_reject", "Reject / keep the segment under the playhead", ("R",)),
            ("segment.merge_next", "Merge the segment under the playhead with the next", ("M",)),
        ],
    )
    + _s(
        "Edit",
        [
            ("edit.undo", "Undo", ("Ctrl+Z",)),
            ("edit.redo", "Redo", ("Ctrl+Shift+Z", "Ctrl+Y")),
        ],
    )
    + _s(
        "Player",
        [
            ("player.toggle", "Play / pause", ("Space",)),
            ("player.j", "Play backward (again: faster)", ("J",)),
            ("player.k", "Pause", ("K",)),
            ("player.l", "Play forward (again: faster)", ("L",)),
            ("player.step_back", "Previous frame", (",",)),
            ("player.step_forward", "Next frame", (".",)),
        ],
    )
    + _s(
        "Timeline",
        [
            ("timeline.zoom_in", "Zoom in", ("+", "=")),
            ("timeline.zoom_out", "Zoom out", ("-",)),
            ("timeline.fit", "Show the whole video", ("0",)),
            ("timeline.start", "Go to the first frame", ("Home",)),
            ("timeline.end", "Go to the last frame", ("End",)),
        ],
    )
    + _s("Help", [("help.shortcuts", "Show these shortcuts", ("F1", "?"))])
)

# The Clips view's review keys.  Their ids are their own (``clips.undo``, not ``edit.undo``): the
# two views are remapped in separate editors, so a change in one must not move a key in the other.
CLIP_SHORTCUTS: tuple[ShortcutSpec, ...] = tuple(
    _s(
        "Clips",
        [
            ("clips.next", "Next clip", ("Alt+Down", "Ctrl+J")),
            ("clips.prev", "Previous clip", ("Alt+Up", "Ctrl+K")),
            ("clips.reviewed", "Mark reviewed (and go to the next clip)", ("Ctrl+Return",)),
            ("clips.unreviewed", "Mark not reviewed", ("Ctrl+Shift+Return",)),
            ("clips.focus_tags", "Type tags for the selected clips", ("Ctrl+T",)),
            ("clips.focus_caption", "Edit the caption", ("Ctrl+E",)),
            ("clips.accept_above", "Accept the auto tags above the threshold", ("Ctrl+Shift+A",)),
            ("clips.reject", "Reject the selected clips (restore rejected ones)", ("Del",)),
            (
                "clips.delete_files",
                "Move the files of the selected clips to the bin…",
                ("Shift+Del",),
            ),
            ("clips.focus_filter", "Filter the clips", ("Ctrl+F", "/")),
            ("clips.undo", "Undo", ("Ctrl+Z",)),
            ("clips.redo", "Redo", ("Ctrl+Shift+Z", "Ctrl+Y")),
            ("clips.help", "Show these shortcuts", ("F1",)),
        ],
    )
)

# The actions that change the project: a read-only project has them disabled.
EDITING: frozenset[str] = frozenset(
    {s.id for s in CUT_SHORTCUTS if s.group in ("Cuts", "Segments", "Edit")}
    - {"cut.prev", "cut.next", "cut.next_uncertain", "cut.prev_uncertain"}
    | {
        "clips.reviewed",
        "clips.unreviewed",
        "clips.focus_tags",
        "clips.focus_caption",
        "clips.accept_above",
        "clips.undo",
        "clips.redo",
    }
)

# Every registry whose overrides share the settings' one ``shortcuts`` dict.
REGISTRIES: tuple[tuple[ShortcutSpec, ...], ...] = (CUT_SHORTCUTS, CLIP_SHORTCUTS)


def _normalise(keys: str | Sequence[str], where: str) -> tuple[str, ...]:
    """Keys as portable text; one clear error per key Qt cannot parse."""
    items = [k.strip() for k in keys.split(";")] if isinstance(keys, str) else list(keys)
    out = []
    for k in items:
        if not k:
            continue
        seq = QKeySequence(k)
        if seq.isEmpty() or seq.toString() == "":
            raise ValueError(f"shortcut {where}: {k!r} is not a key Qt understands")
        out.append(seq.toString(QKeySequence.SequenceFormat.PortableText))
    return tuple(out)


class ShortcutMap(QObject):
    """Defaults plus a person's overrides; ``changed`` fires when a binding changes."""

    changed = Signal()

    def __init__(
        self,
        specs: Sequence[ShortcutSpec] = CUT_SHORTCUTS,
        overrides: Mapping[str, str | Sequence[str]] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.specs = {s.id: s for s in specs}
        self._keys = {s.id: _normalise(s.keys, s.id) for s in specs}
        for sid, keys in (overrides or {}).items():
            if sid not in self.specs:
                log.warning("ignoring a shortcut override for unknown action %r", sid)
                continue
            self._keys[sid] = _normalise(keys, sid)

    @classmethod
    def from_settings(
        cls, settings: object = None, specs: Sequence[ShortcutSpec] = CUT_SHORTCUTS
    ) -> ShortcutMap:
        """Overrides from the app settings (an object or a dict), or the defaults.

        Overrides that belong to another view's registry are left out quietly; an id no
        registry knows is still reported."""
        own = {s.id for s in specs}
        others = {s.id for reg in REGISTRIES for s in reg} - own
        data = {k: v for k, v in _read_overrides(settings).items() if k not in others}
        try:
            return cls(specs, overrides=data)
        except ValueError as exc:
            log.warning("%s; using the default shortcuts", exc)
            return cls(specs)

    def keys(self, sid: str) -> tuple[str, ...]:
        return self._keys[sid]

    def sequences(self, sid: str) -> list[QKeySequence]:
        return [QKeySequence(k) for k in self._keys[sid]]

    def label(self, sid: str) -> str:
        return self.specs[sid].label

    def text(self, sid: str) -> str:
        """Keys as a person reads them (native format)."""
        return (
            ", ".join(
                QKeySequence(k).toString(QKeySequence.SequenceFormat.NativeText)
                for k in self._keys[sid]
            )
            or "—"
        )

    def set_keys(self, sid: str, keys: str | Sequence[str]) -> None:
        if sid not in self.specs:
            raise KeyError(f"no shortcut action {sid!r}")
        self._keys[sid] = _normalise(keys, sid)
        self.changed.emit()

    def reset(self, sid: str | None = None) -> None:
        for s in [sid] if sid else list(self.specs):
            self._keys[s] = _normalise(self.specs[s].keys, s)
        self.changed.emit()

    def overrides(self) -> dict[str, list[str]]:
        """Only what differs from the defaults: what is saved in the settings."""
        return {
            sid: list(keys)
            for sid, keys in self._keys.items()
            if keys != _normalise(self.specs[sid].keys, sid)
        }

    def conflicts(self) -> dict[str, list[str]]:
        """Keys bound to more than one action (shown in the editor)."""
        seen: dict[str, list[str]] = {}
        for sid, keys in self._keys.items():
            for k in keys:
                seen.setdefault(k, []).append(sid)
        return {k: ids for k, ids in seen.items() if len(ids) > 1}

    def groups(self) -> dict[str, list[ShortcutSpec]]:
        out: dict[str, list[ShortcutSpec]] = {}
        for s in self.specs.values():
            out.setdefault(s.group, []).append(s)
        return out


def _read_overrides(settings: object) -> dict:
    if settings is None:
        try:  # the app settings module, when the app has one
            from workstation.core import settings as app_settings

            settings = app_settings.load()
        except Exception:
            return {}
    if isinstance(settings, Mapping):
        data = settings.get(SETTINGS_KEY, settings)
    else:
        data = getattr(settings, SETTINGS_KEY, {}) or {}
    return dict(data) if isinstance(data, Mapping) else {}


def save_overrides(shortcuts: ShortcutMap, path: str | Path | None = None) -> None:
    """Store this map's overrides in the app settings, keeping every other view's.

    The settings hold one ``{id: keys}`` dict for all views; replacing it with one view's
    overrides would forget the keys remapped in the other views."""
    from workstation.core import settings as app_settings

    mine = shortcuts.overrides()

    def change(s: app_settings.AppSettings) -> None:
        kept = {k: v for k, v in s.shortcuts.items() if k not in shortcuts.specs}
        s.shortcuts = {**kept, **mine}

    app_settings.update(change, path)


class ActionBinder:
    """Makes one ``QAction`` per shortcut id on a widget and keeps its keys current.

    The actions are window shortcuts: they work wherever the focus is in the widget's window,
    as long as the widget is shown (its tab current) and the focus widget does not claim the key
    (a text field typing it)."""

    def __init__(self, widget: QWidget, shortcuts: ShortcutMap) -> None:
        self.widget = widget
        self.shortcuts = shortcuts
        self.actions: dict[str, QAction] = {}
        shortcuts.changed.connect(self.refresh)
        ButtonKeys.install()

    def bind(self, sid: str, handler: Callable[[], object]) -> QAction:
        action = QAction(self.shortcuts.label(sid), self.widget)
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setShortcuts(self.shortcuts.sequences(sid))
        action.setAutoRepeat(sid.startswith(("cut.nudge", "player.step", "timeline.zoom")))
        action.triggered.connect(lambda _checked=False: handler())
        self.widget.addAction(action)
        self.actions[sid] = action
        return action

    def editing_actions(self) -> list[QAction]:
        """The bound actions that change the project (see ``EDITING``)."""
        return [a for sid, a in self.actions.items() if sid in EDITING]

    def refresh(self) -> None:
        for sid, action in self.actions.items():
            action.setShortcuts(self.shortcuts.sequences(sid))
            action.setToolTip(f"{self.shortcuts.label(sid)} ({self.shortcuts.text(sid)})")


class ShortcutHelp(QFrame):
    """An overlay over its parent listing every shortcut; Esc, F1 or a click closes it.

    ``editable``: offer "Change shortcuts…" (``customizeRequested``)."""

    customizeRequested = Signal()

    def __init__(self, shortcuts: ShortcutMap, parent: QWidget, *, editable: bool = True) -> None:
        super().__init__(parent)
        self.shortcuts = shortcuts
        self.setObjectName("ShortcutHelp")
        self.setStyleSheet(
            "#ShortcutHelp { background: rgba(18, 19, 24, 246); }"
            "QLabel { color: #e8e8e8; } QScrollArea { background: transparent; border: 0; }"
        )
        self.body = QLabel()
        self.body.setTextFormat(Qt.TextFormat.RichText)
        self.body.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.body)
        scroll.viewport().setAutoFillBackground(False)
        self.body.setAutoFillBackground(False)
        customize = QPushButton("Change shortcuts…")
        customize.clicked.connect(self.customizeRequested)
        close = QPushButton("Close (Esc)")
        close.clicked.connect(self.hide)
        customize.setVisible(editable)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(customize)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addLayout(buttons)
        shortcuts.changed.connect(self.refresh)
        self.refresh()
        self.hide()

    def refresh(self) -> None:
        groups = list(self.shortcuts.groups().items())
        half = (sum(len(s) for _g, s in groups) + 1) // 2
        columns: list[list[str]] = [[], []]
        count = 0
        for group, specs in groups:
            col = columns[0 if count < half else 1]
            count += len(specs)
            col.append(f"<tr><td colspan='2'><br><b>{html.escape(group)}</b></td></tr>")
            for s in specs:
                keys = html.escape(self.shortcuts.text(s.id))
                col.append(
                    f"<tr><td align='right'><code style='color:#ffd75e'>{keys}</code>"
                    f"&nbsp;&nbsp;</td><td>{html.escape(s.label)}</td></tr>"
                )
        cells = "".join(
            f"<td valign='top' style='padding-right:28px'><table cellpadding='2'>{''.join(c)}"
            "</table></td>"
            for c in columns
        )
        self.body.setText(f"<h2>Keyboard shortcuts</h2><table><tr>{cells}</tr></table>")

    def toggle(self) -> None:
        if self.isVisible():
            self.hide()
        else:
            parent = self.parentWidget()  # the window it covers
            if parent is not None:
                self.setGeometry(parent.rect())
            self.raise_()
            self.show()
            self.setFocus()

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Escape, Qt.Key.Key_F1, Qt.Key.Key_Question):
            self.hide()
            return
        super().keyPressEvent(event)

    def mousePressEvent(self, event) -> None:
        self.hide()


class ShortcutEditor(QDialog):
    """Remap shortcuts: one row per action with a key recorder; conflicts are named."""

    def __init__(self, shortcuts: ShortcutMap, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.shortcuts = shortcuts
        ids = list(shortcuts.specs)
        self.table = QTableWidget(len(ids), 2)
        self.table.setHorizontalHeaderLabels(["Action", "Key"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().hide()
        self.edits: dict[str, QKeySequenceEdit] = {}
        for row, sid in enumerate(ids):
            item = QTableWidgetItem(shortcuts.label(sid))
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.table.setItem(row, 0, item)
            edit = QKeySequenceEdit(
                QKeySequence(shortcuts.keys(sid)[0] if shortcuts.keys(sid) else "")
            )
            edit.setClearButtonEnabled(True)
            self.edits[sid] = edit
            self.table.setCellWidget(row, 1, edit)
        self.table.resizeColumnToContents(0)
        self.problem = QLabel()
        self.problem.setStyleSheet("color: #e06c6c")
        box = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.RestoreDefaults
        )
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)
        box.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(self._defaults)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(self.problem)
        layout.addWidget(box)
        self.resize(560, 520)

    def _defaults(self) -> None:
        for sid, edit in self.edits.items():
            keys = self.shortcuts.specs[sid].keys
            edit.setKeySequence(QKeySequence(keys[0] if keys else ""))

    def chosen(self) -> dict[str, tuple[str, ...]]:
        """The first key of each action as edited; further default keys stay when unchanged."""
        out = {}
        for sid, edit in self.edits.items():
            first = edit.keySequence().toString(QKeySequence.SequenceFormat.PortableText)
            current = self.shortcuts.keys(sid)
            if current and first == current[0]:
                out[sid] = current
            else:
                out[sid] = (first,) if first else ()
        return out

    def accept(self) -> None:
        chosen = self.chosen()
        seen: dict[str, str] = {}
        for sid, keys in chosen.items():
            for k in keys:
                if k in seen:
                    self.problem.setText(
                        f"{k} is used twice: “{self.shortcuts.label(seen[k])}” and "
                        f"“{self.shortcuts.label(sid)}”. Choose another key for one of them."
                    )
                    return
                seen[k] = sid
        for sid, keys in chosen.items():
            if keys != self.shortcuts.keys(sid):
                self.shortcuts.set_keys(sid, keys)
        super().accept()
