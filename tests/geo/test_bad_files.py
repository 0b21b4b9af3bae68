"""Area and layer uploads refuse impossible coordinates and broken geometries in plain words, naming the feature,
and never show GDAL's or GEOS's raw messages or a server path."""

import json

import pytest
from django.core.exceptions import ValidationError

from geo.models import Area
from geo.services import AreaImportOptions, area_import_file
from layers.models import VectorLayer
from layers.services import LayerImportOptions, vector_layer_import_file

pytestmark = pytest.mark.django_db


def ring(x, y, size=0.1):
    return [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]


def collection(*geometries):
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"code": f"A{i}", "name": f"Area {i}"}, "geometry": geometry}
            for i, geometry in enumerate(geometries, start=1)
        ],
    }


def write(tmp_path, data, name="areas.geojson"):
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


GOOD = {"type": "Polygon", "coordinates": [ring(90.0, 23.0)]}
OUT_OF_RANGE = {
    "latitude 95": {"type": "Polygon", "coordinates": [ring(90.0, 95.0)]},
    "swapped": {"type": "Polygon", "coordinates": [ring(23.0, 90.0)]},
}


def import_areas(path):
    return area_import_file(path=path, options=AreaImportOptions(level=0))


def import_layer(path):
    return vector_layer_import_file(path=path, options=LayerImportOptions(name="L"))


def problem_text(error: ValidationError) -> str:
    return json.dumps(error.message_dict)


@pytest.mark.parametrize("importer", [import_areas, import_layer], ids=["areas", "layer"])
@pytest.mark.parametrize("case", sorted(OUT_OF_RANGE))
def test_coordinates_outside_the_crs_range_are_refused_naming_the_feature(tmp_path, importer, case):
    path = write(tmp_path, collection(GOOD, OUT_OF_RANGE[case]))
    with pytest.raises(ValidationError) as error:
        importer(path)
    text = problem_text(error.value)
    assert "feature 2" in text and "latitude" in text, text
    assert not Area.objects.exists() and not VectorLayer.objects.exists()


@pytest.mark.parametrize("importer", [import_areas, import_layer], ids=["areas", "layer"])
@pytest.mark.parametrize(
    ("geometry", "words"),
    [
        ({"type": "Polygon", "coordinates": [[[90, 23], [90.1, 23], [90.1, 23.1], [90, 23.1]]]}, "not closed"),
        ({"type": "Polygon", "coordinates": [[[90, 23], [90.1, 23], [90, 23]]]}, "at least four"),
    ],
    ids=["unclosed ring", "short ring"],
)
def test_broken_geometries_are_explained_in_plain_words(tmp_path, importer, geometry, words):
    path = write(tmp_path, collection(GOOD, geometry))
    with pytest.raises(ValidationError) as error:
        importer(path)
    text = problem_text(error.value)
    assert words in text, text
    for raw in ("GEOS", "OGR", "IllegalArgumentException", "LinearRing", str(tmp_path)):
        assert raw not in text, text


def test_empty_coordinates_are_a_missing_geometry_for_areas_and_dropped_from_layers(tmp_path):
    path = write(tmp_path, collection(GOOD, {"type": "Point", "coordinates": []}))
    with pytest.raises(ValidationError) as error:
        import_areas(path)
    assert "row 2: geometry is missing or empty" in problem_text(error.value)
    _layer, result = import_layer(path)
    assert (result.features, result.dropped_empty) == (1, 1)


@pytest.mark.parametrize("importer", [import_areas, import_layer], ids=["areas", "layer"])
def test_bare_shp_without_its_sidecar_files(tmp_path, importer):
    import geopandas
    from shapely.geometry import Polygon

    frame = geopandas.GeoDataFrame({"code": ["A"], "name": ["A"]}, geometry=[Polygon(ring(90, 23))], crs=4326)
    frame.to_file(tmp_path / "areas.shp")
    bare = tmp_path / "upload"
    bare.mkdir()
    (bare / "areas.shp").write_bytes((tmp_path / "areas.shp").read_bytes())
    with pytest.raises(ValidationError) as error:
        importer(bare / "areas.shp")
    text = problem_text(error.value)
    assert ".shx" in text and ".dbf" in text and "zip" in text, text
    assert str(tmp_path) not in text and "/vsi" not in text, text


@pytest.mark.parametrize("importer", [import_areas, import_layer], ids=["areas", "layer"])
def test_elevations_in_a_file_are_dropped(tmp_path, importer):
    polygon_3d = {"type": "Polygon", "coordinates": [[[*point, 12.0] for point in ring(90.0, 23.0)]]}
    importer(write(tmp_path, collection(polygon_3d)))
    if importer is import_areas:
        geometry = Area.objects.get().geom
    else:
        from layers.models import VectorFeature

        geometry = VectorFeature.objects.get().geom
    assert not geometry.hasz
    assert geometry.extent == pytest.approx((90.0, 23.0, 90.1, 23.1))
