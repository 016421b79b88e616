"""Typed values from the text a person types: ``--set key=value`` on the command line and the
same fields in the window's dialogs read alike."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from workstation.core.errors import WorkstationError


def convert_value(raw: str, default: Any, key: str) -> Any:
    """``raw`` as the type of ``default`` (bool, int, float, Fraction; ``none`` for None).

    A None default takes a fraction, an int, a float or else the text; a bad value raises
    WorkstationError naming ``--set key=raw``.
    """
    try:
        if raw.lower() in ("none", "") and not isinstance(default, str):
            return None
        if isinstance(default, bool):
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, Fraction) or default is None and "/" in raw:
            return Fraction(raw)
        if default is None:
            for kind in (int, float):
                try:
                    return kind(raw)
                except ValueError:
                    pass
            return raw
    except (ValueError, ZeroDivisionError):
        raise WorkstationError(f"--set {key}={raw}: not a valid value") from None
    return raw
