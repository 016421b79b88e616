"""The packaged app's entry point (PyInstaller runs this file as ``__main__``).

``multiprocessing.freeze_support()`` comes first: a frozen app's ``spawn`` children (parallel
detection, :mod:`workstation.core.isolate`) start the app's own executable, and without it
each child would run the app again (``detect --jobs 2`` then fails with "worker process
stopped unexpectedly (exit code 2)").
"""

from __future__ import annotations

import multiprocessing
import sys


def main() -> int:
    multiprocessing.freeze_support()
    from workstation.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
