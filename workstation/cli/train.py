"""``workstation train``: train a motion module on an export folder (a child process).

The run's progress comes from the child's JSON lines; its log goes to ``OUTPUT/train.log``.
Ctrl+C stops the child; ``--resume latest`` continues from the last checkpoint.
"""

from __future__ import annotations

import argparse
import json
import sys

from workstation.cli.common import Subcommands, jsonable, run_stage


def register(subparsers: Subcommands) -> None:
    """Add ``train`` to the ``workstation`` parser."""
    from workstation.train.launch import add_arguments

    p = subparsers.add_parser(
        "train",
        help="train an AnimateDiff motion module (full finetune or motion LoRA)",
        description="Train an AnimateDiff motion module on a dataset export. Writes "
        "OUTPUT/motion_module.safetensors (original AnimateDiff keys), OUTPUT/motion_adapter/ "
        "(diffusers) and, in lora mode, OUTPUT/motion_lora.safetensors (ComfyUI, A1111) and "
        "OUTPUT/motion_lora_diffusers.safetensors (diffusers). Progress comes from "
        "the training process's JSON lines; its log is OUTPUT/train.log.",
    )
    add_arguments(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    p.set_defaults(func=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    from workstation.train.launch import settings_from_args, train_stage

    settings = settings_from_args(args)
    result = run_stage(train_stage(settings), args.quiet)
    if args.json:
        print(json.dumps(jsonable(result)))
        return 0
    print(f"trained to step {result.step}: {result.output}", file=sys.stderr)
    for label, path in (
        ("motion module", result.motion_module),
        ("motion adapter", result.motion_adapter),
        ("motion LoRA", result.motion_lora),
        ("motion LoRA (diffusers)", result.motion_lora_diffusers),
    ):
        if path:
            print(f"{label}: {path}")
    return 0
