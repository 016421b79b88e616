"""``workstation setup-training``: install torch and the training libraries on first use.

Builds the managed training environment (:mod:`workstation.core.training_env`) in the user's
data folder with ``uv``; ``--cuda auto`` picks the PyTorch build from ``nvidia-smi``'s driver.
``--dry-run`` prints what would run; ``--repair`` rebuilds a damaged or outdated one;
``--remove`` deletes it.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from dataclasses import asdict

from workstation.cli.common import Subcommands, run_stage


def register(subparsers: Subcommands) -> None:
    """Add ``setup-training`` to the ``workstation`` parser."""
    from workstation.core import training_env

    p = subparsers.add_parser(
        "setup-training",
        help="install the training components (PyTorch for this computer's GPU)",
        description="Install PyTorch and the training libraries into a Python environment of "
        "the app's own, in the user data folder. Training, captioning and TransNetV2 then run "
        "with it.",
    )
    p.add_argument(
        "--cuda",
        choices=("auto", *training_env.VARIANTS),
        default="auto",
        help="which PyTorch build: auto picks it from the NVIDIA driver (default: auto)",
    )
    p.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--repair", action="store_true", help="rebuild the environment")
    what.add_argument("--remove", action="store_true", help="delete the environment")
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    p.set_defaults(func=cmd_setup_training)


def cmd_setup_training(args: argparse.Namespace) -> int:
    from workstation.core import training_env

    folder = training_env.env_dir()
    if args.remove:
        removed = training_env.remove(folder)
        print(f"removed {folder}" if removed else f"nothing to remove: {folder} does not exist")
        return 0
    variant = training_env.choose_variant(args.cuda)
    if args.dry_run:
        uv = training_env.find_uv()
        steps = training_env.commands(uv, folder, variant, training_env.base_python())
        if args.json:
            print(
                json.dumps(
                    {
                        "variant": variant,
                        "folder": str(folder),
                        "commands": [argv for _label, argv in steps],
                    }
                )
            )
            return 0
        print(f"# PyTorch build: {variant}; environment: {folder}")
        for label, argv in steps:
            print(f"# {label}\n{shlex.join(argv)}")
        return 0
    info = run_stage(training_env.build(variant, repair=args.repair, folder=folder), args.quiet)
    if args.json:
        print(json.dumps(asdict(info)))
        return 0
    gpu = "the GPU is usable" if info.cuda_available else "no usable GPU: training runs on the CPU"
    size = info.size_bytes / 1e9
    print(
        f"training components installed: torch {info.torch} ({info.variant}), {size:.1f} GB "
        f"in {folder}; {gpu}",
        file=sys.stderr,
    )
    return 0
