"""Words the window shows with numbers: "1 video", "3 videos", never "video(s)"."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and the noun in the number it needs: ``counted(1, "clip")`` is "1 clip",
    ``counted(10000, "clip")`` "10,000 clips"."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"
