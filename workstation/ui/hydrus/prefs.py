"""Preferences: a dialog with one page per subject; the Hydrus page connects the project to a
running Hydrus client (issue 16).

The page never shows, logs or keeps the access key beyond its (password-echo) field; the core
stores it in ``PROJECT/hydrus.key`` with owner-only permissions.  Verify, request access and
save call Hydrus in a worker (a job); the page only shows their answers.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from workstation.core import hydrus
from workstation.ui.hydrus.calls import as_stage

if TYPE_CHECKING:
    from workstation.ui.common.jobs import JobsController
    from workstation.ui.session import ProjectSession


def report_html(report: hydrus.AccessReport) -> str:
    """What the key may do and what is missing, as a short HTML list."""
    lines = [
        f"Key “{html.escape(report.key_name)}” on {html.escape(report.url)} "
        f"(Client API {report.api_version or '?'})."
    ]
    for p in report.granted:
        lines.append(f"✔ {html.escape(p.name)} — {html.escape(p.needed_for)}")
    for p in report.missing:
        need = "missing" if p.required else "missing (optional)"
        lines.append(f"✘ {html.escape(p.name)} — {need}: {html.escape(p.needed_for)}")
    if not report.ok:
        lines.append("<b>Give the key the missing permissions in Hydrus, then verify again.</b>")
    return "<br>".join(lines)


class HydrusPage(QWidget):
    """URL, key, services by key, note name; Verify / Request access / Disconnect."""

    saved = Signal(object)  # HydrusLink
    answered = Signal()  # a verify / request / save answer (or error) is shown

    def __init__(self, session: ProjectSession, jobs: JobsController, parent=None) -> None:
        super().__init__(parent)
        self.session, self.jobs = session, jobs
        self.report: hydrus.AccessReport | None = None
        form = QFormLayout(self)
        self.url = QLineEdit(hydrus.DEFAULT_URL)
        self.key = QLineEdit()
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key.setPlaceholderText("64 hexadecimal characters from Hydrus's client api dialog")
        self.verify_button = QPushButton("Verify")
        self.verify_button.clicked.connect(self.verify)
        self.request_button = QPushButton("Request access")
        self.request_button.clicked.connect(self.request)
        self.disconnect_button = QPushButton("Disconnect")
        self.disconnect_button.clicked.connect(self.forget)
        row = QHBoxLayout()
        for b in (self.verify_button, self.request_button, self.disconnect_button):
            row.addWidget(b)
        row.addStretch(1)
        self.tag_service, self.file_service = QComboBox(), QComboBox()
        self.note_name = QLineEdit(hydrus.DEFAULT_NOTE)
        self.source_tags = QCheckBox("Also tag source video and frame range (source:, frames:)")
        self.answer = QLabel("Enter the Client API address and access key, then press Verify.")
        self.answer.setWordWrap(True)
        self.answer.setTextFormat(Qt.TextFormat.RichText)
        self.answer.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow("Client API address", self.url)
        form.addRow("Access key", self.key)
        form.addRow("", row)
        form.addRow("", self.answer)
        form.addRow("Tag service", self.tag_service)
        form.addRow("File service", self.file_service)
        form.addRow("Caption note name", self.note_name)
        form.addRow("", self.source_tags)
        self._load()

    # -- state -----------------------------------------------------------------------------
    def _load(self) -> None:
        link = hydrus.load_link(self.session.project)
        self.disconnect_button.setEnabled(link is not None)
        self.file_service.addItem("Hydrus's default import domain", None)
        if link is None:
            return
        self.url.setText(link.url)
        self.key.setPlaceholderText("stored (leave empty to keep the stored key)")
        self.tag_service.addItem(link.tag_service_name, link.tag_service_key)
        if link.file_service_key:
            self.file_service.addItem(link.file_service_name or "", link.file_service_key)
            self.file_service.setCurrentIndex(1)
        self.note_name.setText(link.note_name)
        self.source_tags.setChecked(link.source_tags)
        self.answer.setText(f"Connected to {html.escape(link.url)}. Press Verify to check the key.")

    def entered_key(self) -> str:
        """The key in the field, else the stored one (empty when there is none)."""
        key = self.key.text().strip()
        if key:
            return key
        path = hydrus.key_path(self.session.project)
        return path.read_text().strip() if path.exists() else ""

    def _busy(self, busy: bool) -> None:
        for b in (self.verify_button, self.request_button):
            b.setEnabled(not busy)

    def _say(self, text: str) -> None:
        self._busy(False)
        self.answer.setText(html.escape(text))
        self.answered.emit()

    # -- buttons ---------------------------------------------------------------------------
    def verify(self) -> None:
        url, key = self.url.text().strip(), self.entered_key()
        if not key:
            self._say("Access key: enter the key Hydrus shows, or press “Request access”.")
            return
        self._busy(True)
        self.answer.setText("Asking Hydrus…")
        self.jobs.run(
            "Verify the Hydrus key",
            lambda: as_stage(lambda: hydrus.check_access(url, key)),
            on_done=self._verified,
            on_error=self._say,
            stage_name="hydrus-verify",
        )

    def _verified(self, report: object) -> None:
        assert isinstance(report, hydrus.AccessReport)
        self.report = report
        self._busy(False)
        self.answer.setText(report_html(report))
        self._fill(self.tag_service, report.tag_services, self.tag_service.currentData())
        keep = self.file_service.currentData()
        self._fill(self.file_service, report.file_services, keep)
        self.file_service.insertItem(0, "Hydrus's default import domain", None)
        if keep is None:
            self.file_service.setCurrentIndex(0)
        self.answered.emit()

    @staticmethod
    def _fill(box: QComboBox, services: tuple[hydrus.Service, ...], keep: object) -> None:
        box.clear()
        for s in services:
            box.addItem(f"{s.name}  ({s.type_pretty})", s.key)
        index = box.findData(keep)
        if index >= 0:
            box.setCurrentIndex(index)

    def request(self) -> None:
        url = self.url.text().strip()
        self._busy(True)
        self.jobs.run(
            "Request a Hydrus key",
            lambda: as_stage(lambda: hydrus.request_access(url)),
            on_done=self._granted,
            on_error=self._say,  # the sentence names the Hydrus dialog to open
            stage_name="hydrus-request",
        )

    def _granted(self, key: object) -> None:
        self.key.setText(str(key))
        self._say("Hydrus gave a new key; press Verify, then Save.")

    def forget(self) -> None:
        """Disconnect: the link and the stored key go."""
        hydrus.disconnect(self.session.project)
        self.disconnect_button.setEnabled(False)
        self._say("Disconnected: nothing more is sent to Hydrus.")
        self.saved.emit(None)

    def save(self, on_saved) -> None:
        """Connect with the chosen settings (in a worker); ``on_saved()`` after success."""
        url, key = self.url.text().strip(), self.entered_key()
        if not key:
            self._say("Access key: enter the key Hydrus shows, or press “Request access”.")
            return
        tag, files = self.tag_service.currentData(), self.file_service.currentData()
        note = self.note_name.text().strip() or hydrus.DEFAULT_NOTE
        source = self.source_tags.isChecked()

        def done(result: object) -> None:
            assert isinstance(result, tuple)  # connect returns (HydrusLink, AccessReport)
            link, report = result
            self._verified(report)
            self.saved.emit(link)
            on_saved()

        self._busy(True)
        self.jobs.run_on_project(
            "Connect to Hydrus",
            lambda project: as_stage(
                lambda: hydrus.connect(
                    project,
                    url,
                    key,
                    tag_service=tag,
                    file_service=files,
                    note_name=note,
                    source_tags=source,
                )
            ),
            on_done=done,
            on_error=self._say,
            stage_name="hydrus-connect",
        )


class PreferencesDialog(QDialog):
    """Pages listed on the left; today one: Hydrus."""

    def __init__(self, session: ProjectSession, jobs: JobsController, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.pages = QListWidget()
        self.pages.setMaximumWidth(160)
        self.stack = QStackedWidget()
        self.hydrus = HydrusPage(session, jobs)
        self.pages.addItem("Hydrus")
        self.stack.addWidget(self.hydrus)
        self.pages.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.pages.setCurrentRow(0)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(lambda: self.hydrus.save(self.accept))
        buttons.rejected.connect(self.reject)
        body = QHBoxLayout()
        body.addWidget(self.pages)
        body.addWidget(self.stack, 1)
        outer = QVBoxLayout(self)
        outer.addLayout(body, 1)
        outer.addWidget(buttons)
        self.resize(760, 520)
