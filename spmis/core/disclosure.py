"""Statistical disclosure control for anything published outside the roles that may read personal data: grievance
statistics, partner indicators, aggregate OGC collections.

The rule is primary suppression of small cells (k-anonymity of a count table): a cell that counts at least one and
fewer than k people or cases is published as suppressed, and so is every measure computed from that cell (a median
time to resolution of three tickets tells who they were). Zero is published as zero: it discloses nobody.

When a table also carries its total, suppressing a single small cell in a row is undone by subtraction; the
complementary step suppresses the next smallest cell of the same group so that no lone suppressed cell can be
recovered. Rows are small aggregate tables (areas × categories), so this runs in Python over their rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings


def min_cell() -> int:
    """The smallest count published as is (settings.SPMIS["PUBLISH_MIN_CELL"], 10 by default)."""
    return max(1, int(settings.SPMIS.get("PUBLISH_MIN_CELL", 10)))


def suppress_small_cells(
    rows: Iterable[dict[str, Any]],
    *,
    count: str = "count",
    measures: Sequence[str] = (),
    group_by: Sequence[str] = (),
    k: int | None = None,
) -> list[dict[str, Any]]:
    """Return copies of `rows` with every cell whose `count` is in 1..k-1 replaced by None, the `measures` of those
    rows set to None too, and `suppressed: True` on them (False on the others).

    `group_by` names the columns that make up a group whose total is published elsewhere (say, per area): within
    each group, if exactly one cell is suppressed, the next smallest non-zero cell is suppressed as well."""
    threshold = min_cell() if k is None else k
    out = [dict(row) for row in rows]
    for row in out:
        row["suppressed"] = 0 < int(row.get(count) or 0) < threshold
    if group_by:
        groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
        for row in out:
            groups[tuple(row.get(column) for column in group_by)].append(row)
        for members in groups.values():
            if sum(1 for row in members if row["suppressed"]) != 1:
                continue
            others = sorted(
                (row for row in members if not row["suppressed"] and int(row.get(count) or 0) > 0),
                key=lambda row: int(row[count]),
            )
            if others:
                others[0]["suppressed"] = True
    for row in out:
        if row["suppressed"]:
            row[count] = None
            for measure in measures:
                row[measure] = None
    return out


def suppressed_total(value: int | None, *, k: int | None = None) -> int | None:
    """A single published total: None when it counts 1..k-1."""
    threshold = min_cell() if k is None else k
    if value is not None and 0 < value < threshold:
        return None
    return value
