import json

import pytest
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.db import connection

from geo.models import Area, AreaPiece
from geo.services import AreaImportOptions, area_import_file
from registry.models import Household
from tests.factories import AreaFactory, HouseholdFactory, square

pytestmark = pytest.mark.django_db


def write_geojson(path, features):
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def feature(code, name, coordinates, **properties):
    return {
        "type": "Feature",
        "properties": {"code": code, "name": name, **properties},
        "geometry": {"type": "Polygon", "coordinates": coordinates} if coordinates is not None else None,
    }


def box(x0, y0, x1, y1):
    return [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]


def test_database_derives_lineage_size_and_pieces(two_districts):
    country, west, _ = two_districts
    west.refresh_from_db()
    assert west.lineage == [country.id, west.id]
    # 1°×1° near 23.5°N is about 111.3 km × 102 km.
    assert west.area_km2 == pytest.approx(11_350, rel=0.02)
    assert AreaPiece.objects.filter(area=west).exists()


def test_location_is_assigned_to_lowest_area_in_sql(two_districts):
    _, west, east = two_districts
    household = HouseholdFactory(location=Point(91.5, 23.5, srid=4326))
    household.refresh_from_db()
    assert household.area_id == east.id
    household.location = Point(90.2, 23.2, srid=4326)
    household.save()
    household.refresh_from_db()
    assert household.area_id == west.id
    with connection.cursor() as cursor:  # raw SQL writers get the same rule
        cursor.execute("UPDATE registry_household SET location = ST_SetSRID(ST_MakePoint(91.9, 23.9), 4326)")
    assert Household.objects.get().area_id == east.id


def test_import_repairs_broken_geometry_and_is_idempotent(tmp_path, two_districts):
    bowtie = [[[90.1, 23.1], [90.9, 23.9], [90.9, 23.1], [90.1, 23.9], [90.1, 23.1]]]
    path = write_geojson(
        tmp_path / "subdistricts.geojson",
        [
            feature("C-W-1", "Bowtie", bowtie, parent="C-W"),
            feature("C-E-1", "Square", box(91.1, 23.1, 91.9, 23.9), parent="C-E"),
        ],
    )
    options = AreaImportOptions(level=2, parent_match="code", parent_code_field="parent")
    first = area_import_file(path=path, options=options)
    assert (first.created, first.repaired) == (2, 1)
    bowtie_area = Area.objects.get(code="C-W-1")
    assert bowtie_area.geom.valid and bowtie_area.parent.code == "C-W"
    again = area_import_file(path=path, options=options)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)


def test_import_matches_parents_spatially(tmp_path, two_districts):
    path = write_geojson(tmp_path / "a.geojson", [feature("X1", "Inside east", box(91.2, 23.2, 91.4, 23.4))])
    area_import_file(path=path, options=AreaImportOptions(level=2, parent_match="spatial"))
    assert Area.objects.get(code="X1").parent.code == "C-E"


def test_reimport_with_moved_boundary_reassigns_households(tmp_path, two_districts):
    household = HouseholdFactory(location=Point(90.95, 23.5, srid=4326))
    assert Household.objects.get(pk=household.pk).area.code == "C-W"
    path = write_geojson(
        tmp_path / "moved.geojson",
        [
            feature("C-W", "West", box(90.0, 23.0, 90.9, 24.0), parent="C"),
            feature("C-E", "East", box(90.9, 23.0, 92.0, 24.0), parent="C"),
        ],
    )
    result = area_import_file(
        path=path, options=AreaImportOptions(level=1, parent_match="code", parent_code_field="parent")
    )
    assert result.updated == 2 and result.reassigned_locations == 1
    assert Household.objects.get(pk=household.pk).area.code == "C-E"


@pytest.mark.parametrize(
    ("features", "expected"),
    [
        ([feature("", "No code", box(90, 23, 91, 24))], "row 1: code is empty"),
        (
            [feature("A", "One", box(90, 23, 91, 24)), feature("A", "Two", box(91, 23, 92, 24))],
            "code A appears more than once",
        ),
        ([feature("A", "No geometry", None)], "row 1: geometry is missing"),
    ],
)
def test_bad_rows_are_named_and_nothing_is_written(tmp_path, features, expected):
    before = Area.objects.count()
    path = write_geojson(tmp_path / "bad.geojson", features)
    with pytest.raises(ValidationError) as error:
        area_import_file(path=path, options=AreaImportOptions(level=0))
    assert any(expected in message for message in error.value.message_dict["rows"])
    assert Area.objects.count() == before


def test_unknown_parent_code_fails_whole_file(tmp_path, two_districts):
    path = write_geojson(
        tmp_path / "p.geojson",
        [
            feature("OK", "Fine", box(90.1, 23.1, 90.2, 23.2), parent="C-W"),
            feature("KO", "Orphan", box(91.1, 23.1, 91.2, 23.2), parent="NOPE"),
        ],
    )
    with pytest.raises(ValidationError) as error:
        area_import_file(path=path, options=AreaImportOptions(level=2, parent_match="code", parent_code_field="parent"))
    assert error.value.message_dict["rows"] == ["row 2: parent code 'NOPE' matches no area above level 2"]
    assert not Area.objects.filter(code="OK").exists()


def test_missing_column_names_the_parameter(tmp_path):
    path = write_geojson(tmp_path / "c.geojson", [feature("A", "A", box(90, 23, 91, 24))])
    with pytest.raises(ValidationError) as error:
        area_import_file(path=path, options=AreaImportOptions(level=0, code_field="ADM0_PCODE"))
    assert "ADM0_PCODE" in error.value.message_dict["code_field"][0]


def test_imports_zipped_shapefile_and_geopackage_in_other_crs(tmp_path):
    import geopandas as gpd
    from shapely.geometry import box as shapely_box

    frame = gpd.GeoDataFrame(
        {"code": ["Z1"], "name": ["Projected"]}, geometry=[shapely_box(90.0, 23.0, 90.5, 23.5)], crs="EPSG:4326"
    ).to_crs(epsg=32646)
    frame.to_file(tmp_path / "areas.gpkg", driver="GPKG")
    shp_dir = tmp_path / "shp"
    shp_dir.mkdir()
    frame.assign(code="Z2").to_file(shp_dir / "areas.shp")
    import zipfile

    with zipfile.ZipFile(tmp_path / "areas.zip", "w") as archive:
        for part in shp_dir.iterdir():
            archive.write(part, part.name)
    area_import_file(path=tmp_path / "areas.gpkg", options=AreaImportOptions(level=0))
    area_import_file(path=tmp_path / "areas.zip", options=AreaImportOptions(level=0))
    for code in ("Z1", "Z2"):
        extent = Area.objects.get(code=code).geom.extent
        assert extent == pytest.approx((90.0, 23.0, 90.5, 23.5), abs=1e-6)


def test_area_factory_square_helper_is_valid():
    assert square(90, 23, 1).valid
    assert AreaFactory(geom=square(90, 23, 1)).level == 0


def test_area_search_by_name_or_pcode_within_scope_with_bounding_boxes(client_for, two_districts):
    _, west, east = two_districts
    AreaFactory(code="C-W-01", name="Westbury", parent=west, geom=square(90.2, 23.2, 0.3))
    national = client_for(roles=["emergency_coordinator"])

    found = national.get("/api/v1/geo/areas/search/", {"q": "west"}).json()
    # A name that starts with the text comes before one that merely contains it; higher levels first.
    assert [(a["code"], a["level"]) for a in found] == [("C-W", 1), ("C-W-01", 2)]
    assert found[0]["bbox"] == [90.0, 23.0, 91.0, 24.0]
    assert found[0]["parent_name"] == "Country" and found[0]["level_name"] == "Division"
    assert found[1]["level_name"] == "District"
    # A P-code prefix matches too, and an exact code comes first.
    assert [a["code"] for a in national.get("/api/v1/geo/areas/search/", {"q": "c-e"}).json()] == ["C-E"]
    assert national.get("/api/v1/geo/areas/search/", {"q": "C-W"}).json()[0]["code"] == "C-W"
    # The GeoJSON list takes the same `q`.
    listed = national.get("/api/v1/geo/areas/", {"q": "bury"}).json()
    assert [f["properties"]["code"] for f in listed["features"]] == ["C-W-01"]

    # A user bound to East finds East (and the country above it, for context), never West.
    scoped = client_for(roles=["emergency_coordinator"], areas=[east])
    assert national.get("/api/v1/geo/areas/search/", {"q": "C"}).status_code == 400
    assert [a["code"] for a in scoped.get("/api/v1/geo/areas/search/", {"q": "st"}).json()] == ["C-E"]
    assert scoped.get("/api/v1/geo/areas/search/", {"q": "west"}).json() == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": " x "}, "q"),
        ({"q": "ab\x00c"}, "q"),
        ({"q": "a" * 101}, "q"),
        ({"q": "ab", "limit": 0}, "limit"),
    ],
)
def test_area_search_refuses_bad_input_in_plain_words(client_for, params, field):
    response = client_for(roles=["emergency_coordinator"]).get("/api/v1/geo/areas/search/", params)
    assert response.status_code == 400 and field in response.json()
