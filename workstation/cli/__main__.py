"""``python -m workstation.cli``: the same as the ``workstation`` command."""

import sys

from workstation.cli import main

sys.exit(main())
