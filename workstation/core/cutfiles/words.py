"""Strict words for the cut file readers: ASCII numbers only, and short quotes for messages.

``str.isdigit`` accepts ``²0`` and ``int`` accepts ``١٢``, ``+1``, ``1_000`` and ``" 7 "``; a
cut file's numbers are plain ASCII digits, so every reader parses them here and says which
word is wrong instead of raising ``ValueError`` from deep inside.  Lengths are bounded too:
``int`` refuses more than 4300 digits and ``Fraction('1e999999999')`` would take forever.
"""

from __future__ import annotations

import re
from fractions import Fraction

MAX_DIGITS = 18  # a frame number or timestamp beyond 10**18 is not a real video's

_N = "[0-9]{1,18}"  # MAX_DIGITS ASCII digits
_INT = re.compile(_N)
_SIGNED = re.compile(f"-?{_N}")
_DECIMAL = re.compile(rf"-?{_N}(?:\.[0-9]{{1,12}})?(?:[eE][+-]?[0-9]{{1,3}})?")
_RATIO = re.compile(f"({_N})/({_N})")


def ascii_int(text: str) -> int | None:
    """``text`` as a whole number >= 0 when it is 1-18 ASCII digits, else None."""
    return int(text) if _INT.fullmatch(text) else None


def is_ascii_digits(text: str) -> bool:
    """Only ASCII digits (any number of them): a frame number, maybe too long for :func:`ascii_int`."""
    return bool(text) and text.isascii() and text.isdigit()


def signed_int(text: str) -> int | None:
    """``text`` as a whole number, optionally negative, in ASCII digits; else None."""
    return int(text) if _SIGNED.fullmatch(text) else None


def decimal(text: str) -> float | None:
    """A plain decimal number (``3.5``, ``-1``, ``1e-3``) in ASCII, else None (may be inf)."""
    return float(text) if _DECIMAL.fullmatch(text) else None


def ratio(text: str) -> Fraction | None:
    """``N/D`` with D > 0 in ASCII digits, else None."""
    m = _RATIO.fullmatch(text)
    if not m or int(m.group(2)) == 0:
        return None
    return Fraction(int(m.group(1)), int(m.group(2)))


def quoted(text: str, limit: int = 40) -> str:
    """``repr(text)`` cut to about ``limit`` characters, for a message about one word or line."""
    if len(text) <= limit:
        return repr(text)
    return repr(text[:limit]) + "…"
