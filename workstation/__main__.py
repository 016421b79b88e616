"""``python -m workstation``: the ``workstation`` command (the desktop app without arguments)."""

from __future__ import annotations

import sys

from workstation.cli import main

if __name__ == "__main__":
    sys.exit(main())
