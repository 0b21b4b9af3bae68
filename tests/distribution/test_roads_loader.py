"""Loading road networks: the real São Paulo extract through osmium and osm2pgrouting, GeoJSON lines noded into a
topology, and a corrupt file refused with nothing left behind."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection

from distribution.roads.models import RoadEdge, RoadNetwork, RoadVertex
from distribution.roads.selectors import snap_points
from distribution.roads.services import network_load_file
from tests.distribution.factories_roads import SAO_PAULO_PBF, sao_paulo_network

pytestmark = pytest.mark.django_db


def test_the_sao_paulo_extract_loads_with_tags_costs_and_one_way_streets(tmp_path):
    network = sao_paulo_network(tmp_path)

    assert network.status == RoadNetwork.Status.READY
    edges = RoadEdge.objects.filter(network_id=network.pk)
    assert network.edge_count == edges.count() > 8000
    assert network.vertex_count == RoadVertex.objects.filter(network_id=network.pk).count() > 6000
    assert edges.filter(bridge=True).count() > 50
    assert edges.filter(layer__gt=0).exists() and edges.filter(layer__lt=0).exists()
    assert edges.filter(reverse_cost__lt=0).count() > 3000  # one-way streets
    assert not edges.filter(cost__lt=0, reverse_cost__lt=0).exists()
    # Costs are seconds from length and speed: a residential street at 20 km/h takes length / (20 / 3.6) seconds.
    street = edges.filter(highway="residential", maxspeed_kmh=20, reverse_cost__gt=0).first()
    assert street.cost == pytest.approx(street.length_m / (20 / 3.6))
    assert network.extent.contains(edges.first().geom.centroid)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM distribution_roadedge e WHERE e.network_id = %s AND NOT EXISTS"
            " (SELECT 1 FROM distribution_roadvertex v WHERE v.id = e.source AND v.network_id = e.network_id)",
            [network.pk],
        )
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'roads_load_%%'")
        assert cursor.fetchone()[0] == 0  # the throwaway schema is gone


def test_snapping_finds_the_nearest_vertex_and_honours_a_cut_off(tmp_path):
    network = sao_paulo_network(tmp_path)
    vertex = RoadVertex.objects.filter(network_id=network.pk).order_by("id")[100]

    (near, near_m), (far, far_m) = snap_points(
        network.pk, [(vertex.geom.x + 0.00001, vertex.geom.y), (-40.0, -20.0)], max_m=500
    )
    assert near == vertex.id and near_m < 5
    assert far is None and far_m > 100_000


def test_a_corrupt_pbf_is_refused_and_leaves_nothing(tmp_path):
    corrupt = tmp_path / "broken.osm.pbf"
    corrupt.write_bytes(SAO_PAULO_PBF.read_bytes()[:5000] + b"\x00garbage" * 100)

    with pytest.raises(ValidationError) as refused:
        network_load_file(path=corrupt, code="broken", name="Broken")

    assert "could not be read as an OpenStreetMap extract" in refused.value.message_dict["file"][0]
    assert not RoadNetwork.objects.filter(code="broken").exists()
    assert not RoadEdge.objects.exists() and not RoadVertex.objects.exists()


def test_geojson_lines_are_noded_where_they_cross(tmp_path):
    # A plus sign: two lines crossing at (0.01, 0.01) with no shared vertex in the file; and a bridge.
    lines = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "East-West", "highway": "primary"},
                "geometry": {"type": "LineString", "coordinates": [[0, 0.01], [0.02, 0.01]]},
            },
            {
                "type": "Feature",
                "properties": {"name": "North-South", "highway": "residential", "bridge": "yes", "layer": "1"},
                "geometry": {"type": "LineString", "coordinates": [[0.01, 0], [0.01, 0.02]]},
            },
        ],
    }
    path = tmp_path / "plus.geojson"
    path.write_text(json.dumps(lines))

    network = network_load_file(path=path, code="plus", name="Plus")

    edges = RoadEdge.objects.filter(network_id=network.pk)
    assert network.edge_count == edges.count() == 4
    assert network.vertex_count == 5
    centre = snap_points(network.pk, [(0.01, 0.01)])[0][0]
    assert edges.filter(source=centre).count() + edges.filter(target=centre).count() == 4
    assert set(edges.filter(bridge=True).values_list("name", flat=True)) == {"North-South"}
    primary = edges.get(name="East-West", source=centre) if edges.filter(name="East-West", source=centre) else None
    primary = primary or edges.filter(name="East-West").first()
    assert primary.cost == pytest.approx(primary.length_m / (50 / 3.6))


def test_the_command_loads_and_names_the_error(tmp_path, capsys):
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json")
    with pytest.raises(Exception, match="file: The file is not readable GeoJSON"):
        call_command("load_roads", str(bad), "--code", "bad")
    assert not RoadNetwork.objects.exists()
