"""The window opens in about a second: no heavy ML library is imported by the GUI's modules."""

from __future__ import annotations

import os
import subprocess
import sys

HEAVY = ("torch", "transformers", "diffusers", "onnxruntime", "accelerate", "huggingface_hub")


def test_gui_modules_import_no_ml_library():
    code = (
        "import sys\n"
        "import workstation.cli, workstation.ui.app, workstation.ui.main_window\n"
        "import workstation.ui.cut.view, workstation.ui.clips.view, workstation.ui.train.view\n"
        "import workstation.ui.clips.autotag_actions, workstation.ui.clips.models_dialog\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "[]"
