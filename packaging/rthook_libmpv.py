"""PyInstaller runtime hook: make python-mpv load the bundled libmpv when there is one.

python-mpv finds libmpv with ``ctypes.util.find_library('mpv')``, which never looks inside the
bundle: a bundled copy would be silently ignored (the system's used instead, or "Cannot find
libmpv").  The portable build bundles it; the .deb uses Debian's libmpv2 (no copy inside).
"""

import ctypes.util
import glob
import os
import sys

_bundle = getattr(sys, "_MEIPASS", os.path.dirname(sys.executable))
_names = sorted(
    glob.glob(os.path.join(_bundle, "libmpv.so*"))
    + glob.glob(os.path.join(_bundle, "libmpv-2.dll"))
)
if _names:
    _system_find = ctypes.util.find_library

    def _find_library(name, _bundled=_names[0], _find=_system_find):
        return _bundled if name in ("mpv", "mpv-2", "libmpv-2") else _find(name)

    ctypes.util.find_library = _find_library
