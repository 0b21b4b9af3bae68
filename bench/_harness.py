"""Shared benchmark plumbing: a throwaway migrated database, timing, peak memory and the RESULT line.

Each bench/<topic>.py runs with `make bench-<topic>`, prints its data sizes, compares against a baseline measured
in the same run, and ends with one line `RESULT <topic> key=value ...`.
"""

from __future__ import annotations

import contextlib
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spmis.settings.test")
    import django

    django.setup()


@contextlib.contextmanager
def bench_database(topic: str, *, keep: bool = False, reuse: bool = False) -> Iterator[str]:
    """Create and migrate a fresh database `bench_<topic>` on the configured server; drop it afterwards (unless
    `keep`). With `reuse`, an existing `bench_<topic>` is kept and only migrated, so a benchmark can skip its load."""
    setup_django()
    from django.db import connection

    name = f"bench_{topic}"
    connection.settings_dict.setdefault("TEST", {})["NAME"] = name
    created = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=reuse, serialize=False)
    try:
        yield created
    finally:
        if not keep:
            connection.creation.destroy_test_db(created, verbosity=0)


def timed(function: Callable[[], object], *, repeat: int = 1, setup: Callable[[], object] | None = None) -> float:
    """Median wall time in seconds of `repeat` runs (setup, if given, runs untimed before each)."""
    samples = []
    for _ in range(repeat):
        if setup:
            setup()
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def result_line(topic: str, **figures: object) -> str:
    parts = []
    for key, value in figures.items():
        if isinstance(value, float):
            value = f"{value:.4g}" if abs(value) < 1000 else f"{value:.0f}"
        parts.append(f"{key}={value}")
    line = f"RESULT {topic} " + " ".join(parts)
    print(line, flush=True)
    return line
