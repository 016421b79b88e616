"""The Export dialog (File → Export dataset…, and the Train tab's "Export now").

:mod:`.form` holds the settings fields (every ``ExportSettings`` field), :mod:`.dialog` the
folder, the live clip count, the job and the remembered values, :mod:`.result_page` what the
export did and what the trainers will do with the clips.
"""

from __future__ import annotations

from workstation.ui.export.dialog import ExportDialog

__all__ = ["ExportDialog"]
