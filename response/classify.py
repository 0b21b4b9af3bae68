"""Pure hazard-classification code (no ORM): thresholds → class index, distance bands.

Tested without a database; the services feed it arrays and write what it returns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NO_CLASS = -1


@dataclass(frozen=True)
class ClassSpec:
    """A hazard class as the engine sees it: id, key, name, rank and raster thresholds [min_value, max_value)."""

    id: int
    key: str
    name: str
    rank: int
    min_value: float | None = None
    max_value: float | None = None


def classify_values(values: np.ndarray, classes: list[ClassSpec], *, nodata: float | None = None) -> np.ndarray:
    """Index into `classes` for each value (NO_CLASS when below every threshold, NaN or nodata). Thresholds are
    half-open [min, max); where class ranges overlap the highest rank wins."""
    values = np.asarray(values, dtype=np.float64)
    result = np.full(values.shape, NO_CLASS, dtype=np.int64)
    best_rank = np.full(values.shape, -1, dtype=np.int64)
    valid = ~np.isnan(values)
    if nodata is not None and not np.isnan(nodata):
        valid &= values != nodata
    for index, spec in enumerate(classes):
        if spec.min_value is None and spec.max_value is None:
            continue
        inside = valid.copy()
        if spec.min_value is not None:
            inside &= values >= spec.min_value
        if spec.max_value is not None:
            inside &= values < spec.max_value
        take = inside & (spec.rank > best_rank)
        result[take] = index
        best_rank[take] = spec.rank
    return result


def validate_bands(bands: list[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    """Distance bands (inner_m, outer_m, class_key) sorted from the centre; they must not overlap or be empty."""
    ordered = sorted(bands, key=lambda band: band[0])
    previous_outer = 0.0
    for inner, outer, _key in ordered:
        if inner < 0 or outer <= inner:
            raise ValueError(f"band {inner}–{outer} m: the outer distance must be greater than the inner one (≥ 0)")
        if inner < previous_outer:
            raise ValueError(f"band {inner}–{outer} m overlaps the previous band ending at {previous_outer} m")
        previous_outer = outer
    return ordered
