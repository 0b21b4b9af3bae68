"""Routes on the real São Paulo extract with per-request closures: a flood drawn over the dry-day route is avoided
(and the detour is longer), a flood ringing a neighbourhood makes it unreachable naming the closed streets, and a
bridge over the flood stays open."""

import pytest
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Point

from distribution.roads.graph import closed_edge_ids, edge_query
from distribution.roads.models import RoadEdge
from distribution.roads.routing import cost_matrix, path, path_between
from tests.distribution.factories_roads import sao_paulo_network
from tests.response.factories import HazardZoneFactory

pytestmark = pytest.mark.django_db

SE = (-46.6340, -23.5500)  # Praça da Sé, west of the Tamanduateí valley
BRAS = (-46.6150, -23.5440)  # Brás, east of it


@pytest.fixture
def network(tmp_path):
    return sao_paulo_network(tmp_path)


def flood(polygon: GEOSGeometry, name: str = "Tamanduateí flood"):
    if polygon.geom_type == "Polygon":
        polygon = MultiPolygon(polygon, srid=4326)
    polygon.srid = 4326
    return HazardZoneFactory(geom=polygon, name=name)


def circle(lon: float, lat: float, metres: float) -> GEOSGeometry:
    """A disc of `metres` radius drawn around a point (degrees scaled for São Paulo's latitude)."""
    return Point(lon, lat, srid=4326).buffer(metres / 111_320 / 0.917)


def test_a_route_avoids_a_drawn_flood_and_is_longer_than_the_dry_day_route(network):
    dry = path_between(network.pk, SE, BRAS)
    assert dry.reachable and dry.seconds > 60
    # Flood the middle of the dry route: a disc around an ordinary (not bridge) street halfway along it.
    middle = RoadEdge.objects.filter(id__in=dry.edges, bridge=False, layer__lte=0)
    edge = sorted(middle, key=lambda e: abs(dry.edges.index(e.id) - len(dry.edges) / 2))[0]
    centre = edge.geom.interpolate_normalized(0.5)
    zone = flood(circle(centre.x, centre.y, 120))

    wet = path_between(network.pk, SE, BRAS, zone_ids=[zone.pk])

    assert wet.reachable
    assert wet.seconds > dry.seconds and wet.edges != dry.edges
    closed = set(closed_edge_ids(network.pk, [zone.pk]))
    assert edge.id in closed
    assert not closed & set(wet.edges)
    drawn = zone.geom
    assert not any(
        e.geom.intersects(drawn) for e in RoadEdge.objects.filter(id__in=wet.edges, bridge=False, layer__lte=0)
    )
    assert wet.as_feature()["geometry"]["type"] == "MultiLineString"


def test_a_flood_ringing_a_neighbourhood_makes_it_unreachable_and_names_the_closures(network):
    end = BRAS
    ring = circle(*end, 450).difference(circle(*end, 300))
    zone = flood(ring, name="Brás ring flood")

    result = path_between(network.pk, SE, end, zone_ids=[zone.pk])

    assert not result.reachable and result.seconds is None
    assert result.reason.startswith("Unreachable")
    assert "Brás ring flood" in result.reason
    assert result.closures and all(c["zones"] == [zone.pk] for c in result.closures)
    named = {c["name"] for c in result.closures}
    assert any(name in result.reason for name in named)
    # Every closure listed is a road the flood closes, and opening them all would reconnect the two points.
    assert {c["edge"] for c in result.closures} <= set(closed_edge_ids(network.pk, [zone.pk]))
    feature = result.as_feature()
    assert feature["geometry"] is None and feature["properties"]["closures"]


def test_a_bridge_over_the_flood_stays_open(network):
    bridge = (
        RoadEdge.objects.filter(network_id=network.pk, bridge=True, reverse_cost__gt=0, length_m__gt=60)
        .order_by("-length_m")
        .first()
    )
    centre = bridge.geom.interpolate_normalized(0.5)
    # A flood wider than the bridge's middle: everything at ground level under it is closed, the bridge is not.
    zone = flood(circle(centre.x, centre.y, 25), name="River under the bridge")

    closed = set(closed_edge_ids(network.pk, [zone.pk]))
    assert bridge.id not in closed
    assert str(bridge.id) not in edge_query(network.pk, zone_ids=[zone.pk]).split("ARRAY")[-1].split(",")
    over = path(network.pk, bridge.source, bridge.target, zone_ids=[zone.pk])
    assert over.reachable and over.edges == [bridge.id]


def test_cost_matrix_has_every_pair_and_closures_only_lengthen(network):
    from distribution.roads.selectors import snap_points

    vids = [v for v, _ in snap_points(network.pk, [SE, BRAS, (-46.64, -23.56), (-46.62, -23.53)])]
    dry = cost_matrix(network.pk, vids)
    assert len(dry) == 12 and all(c > 0 for c in dry.values())
    centre = Point(-46.625, -23.548)
    zone = flood(circle(centre.x, centre.y, 300))
    wet = cost_matrix(network.pk, vids, zone_ids=[zone.pk])
    assert all(wet[k] >= dry[k] - 1e-6 for k in wet)
    assert any(wet[k] > dry[k] + 1 for k in wet)
