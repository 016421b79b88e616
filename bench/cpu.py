"""CPU time for the benchmarks: this process's (all threads) and its finished children's.

Children count: slicing encodes in worker processes, and a split detection pass measures its
ranges in forked ones.  The scripts in this folder import it (``python bench/X.py`` puts this
folder on ``sys.path``).
"""

from __future__ import annotations

import resource


def cpu_seconds() -> float:
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        r = resource.getrusage(who)
        total += r.ru_utime + r.ru_stime
    return total
