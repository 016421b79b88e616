"""The window's side of the Hydrus mirror (issue 16).

- ``prefs``: the Preferences dialog and its Hydrus page (URL, key, services, verify, request access);
- ``mirror``: the status-bar indicator, "Sync now", the debounced sync after edits, "Open in Hydrus";
- ``conflicts``: the dialog that shows both sides of each conflict and resolves it.

Every network call runs as a job (:mod:`workstation.ui.common.jobs`) in a worker thread.
"""
