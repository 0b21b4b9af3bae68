from spmis.core.disclosure import suppress_small_cells, suppressed_total


def test_small_cells_and_their_measures_are_suppressed_zero_is_kept():
    rows = [
        {"area": "A", "category": "payment", "count": 12, "median_days": 3.0},
        {"area": "A", "category": "fraud", "count": 2, "median_days": 9.0},
        {"area": "A", "category": "exclusion", "count": 0, "median_days": None},
    ]
    out = suppress_small_cells(rows, measures=["median_days"], k=5)
    assert [row["count"] for row in out] == [12, None, 0]
    assert out[1]["median_days"] is None and out[1]["suppressed"] is True
    assert out[0]["suppressed"] is False and out[0]["median_days"] == 3.0
    assert rows[1]["count"] == 2, "the input rows are not changed"


def test_a_lone_suppressed_cell_takes_the_next_smallest_with_it_so_a_total_cannot_recover_it():
    rows = [
        {"area": "A", "category": "payment", "count": 40},
        {"area": "A", "category": "fraud", "count": 3},
        {"area": "A", "category": "exclusion", "count": 7},
        {"area": "B", "category": "payment", "count": 8},
        {"area": "B", "category": "fraud", "count": 9},
    ]
    out = suppress_small_cells(rows, group_by=["area"], k=5)
    assert [row["count"] for row in out] == [40, None, None, 8, 9]


def test_a_total_below_k_is_suppressed():
    assert suppressed_total(4, k=5) is None
    assert suppressed_total(0, k=5) == 0
    assert suppressed_total(5, k=5) == 5
