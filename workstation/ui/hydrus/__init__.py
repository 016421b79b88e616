"""The window's side of the Hydrus mirror (issue 16).

- ``prefs``: the Preferences dialog and its Hydrus page (URL, key, services, verify, request access);
- ``mirror``: the status-bar indicator, "Sync now", the debounced sync after edits, "Open in Hydrus";
- ``conflicts``: the dialog that shows both sides of each conflict and resolves it;
- ``hooks``: puts them into the main window (Hydrus menu, Edit > Preferences…, status bar,
  the Clips view's context menu);
- ``calls``: a plain core call wrapped as a stage, for the job machinery.

Every network call runs as a job (:mod:`workstation.ui.common.jobs`) in a worker thread.
"""
