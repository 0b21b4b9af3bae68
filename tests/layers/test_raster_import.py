"""GeoTIFF ingestion: stored as a valid COG, statistics and histogram computed block-wise, tiles and point values."""

from __future__ import annotations

import morecantile
import numpy as np
import pytest
from django.core.exceptions import ValidationError

from layers import rasters
from layers.models import RasterLayer
from layers.services import LayerImportOptions, raster_layer_import_file
from tests.layers.conftest import media_files, write_geotiff

pytestmark = pytest.mark.django_db


def read_png(data: bytes) -> np.ndarray:
    from rasterio.io import MemoryFile

    with MemoryFile(data) as memory, memory.open() as image:
        return image.read()


def test_geotiff_in_utm_becomes_a_described_cog(tmp_path, districts, media_root, monkeypatch):
    # Small stripes force several windows, so the block-wise accumulation is what gets tested.
    monkeypatch.setattr(rasters, "STRIPE_BYTES", 4096)
    path, data = write_geotiff(tmp_path / "depth.tif", districts)
    layer = raster_layer_import_file(path=path, options=LayerImportOptions(name="Depth", unit="m", kind="hazard"))
    from rio_cogeo.cogeo import cog_validate

    is_valid, errors, _ = cog_validate(str(layer.local_path()))
    assert is_valid, errors
    assert layer.local_path().is_file() and str(layer.local_path()).startswith(str(media_root))
    assert layer.crs == "EPSG:32646"
    assert (layer.width, layer.height) == (data.shape[1], data.shape[0])
    assert layer.nodata == -9999
    assert layer.unit == "m" and layer.bands[0]["description"] == "flood depth"
    valid = data[data != -9999]
    stats = layer.statistics["1"]
    assert stats["count"] == valid.size
    assert stats["min"] == pytest.approx(valid.min(), rel=1e-5)
    assert stats["max"] == pytest.approx(valid.max(), rel=1e-5)
    assert stats["mean"] == pytest.approx(valid.mean(), rel=1e-5)
    assert stats["std"] == pytest.approx(valid.std(), rel=1e-4)
    histogram = layer.histogram["1"]
    assert sum(histogram["counts"]) == valid.size
    expected, _ = np.histogram(valid.astype(np.float32), bins=np.array(histogram["edges"]))
    assert histogram["counts"] == expected.tolist()
    min_lon, min_lat, max_lon, _ = layer.bounds
    assert 87.5 < min_lon < 89 and 92 < max_lon < 93 and 20 < min_lat < 21.5
    assert layer.style["rescale"][0] <= layer.style["rescale"][1]


def test_point_values_and_png_tiles(tmp_path, districts):
    path, _ = write_geotiff(tmp_path / "depth.tif", districts)
    layer = raster_layer_import_file(path=path, options=LayerImportOptions(name="Depth", unit="m"))
    position = list(districts["name"]).index("Dhaka")
    inside = districts.to_crs(epsg=32646).geometry.iloc[position].representative_point()
    import geopandas as gpd

    lon_lat = gpd.GeoSeries([inside], crs=32646).to_crs(epsg=4326).iloc[0]
    values = rasters.point_values(layer.local_path(), lon=lon_lat.x, lat=lon_lat.y)
    assert values == [pytest.approx(0.1 * position + 0.05, rel=1e-5)]
    # The bottom-left pixel is inside the raster's frame but in the sea, outside every district: nodata.
    import rasterio
    from rasterio.warp import transform as warp

    with rasterio.open(layer.local_path()) as cog:
        x, y = cog.xy(cog.height - 2, 1)
    (sea_lon,), (sea_lat,) = warp("EPSG:32646", "EPSG:4326", [x], [y])
    assert rasters.point_values(layer.local_path(), lon=sea_lon, lat=sea_lat) == [None]
    with pytest.raises(ValidationError):
        rasters.point_values(layer.local_path(), lon=10.0, lat=50.0)

    tile = morecantile.tms.get("WebMercatorQuad").tile(90.4, 23.8, 7)
    png = rasters.render_tile(
        layer.local_path(), z=7, x=tile.x, y=tile.y, style=layer.style, statistics=layer.statistics
    )
    image = read_png(png)
    assert image.shape == (4, 256, 256)
    assert image[3].max() == round(255 * layer.style["opacity"])
    assert (
        rasters.render_tile(layer.local_path(), z=7, x=0, y=0, style=layer.style, statistics=layer.statistics) is None
    )

    classed = {"breaks": [0, 2, 4, 7], "colors": ["#ffffcc", "#41b6c4", "#253494"], "opacity": 1}
    png = rasters.render_tile(layer.local_path(), z=7, x=tile.x, y=tile.y, style=classed, statistics=layer.statistics)
    pixels = read_png(png).reshape(4, -1).T
    colours = {tuple(int(v) for v in c) for c in pixels if c[3]}
    assert colours <= {(255, 255, 204, 255), (65, 182, 196, 255), (37, 52, 148, 255)} and colours


def test_corrupt_tiff_leaves_nothing(tmp_path, districts, media_root):
    path, _ = write_geotiff(tmp_path / "depth.tif", districts)
    data = bytearray(path.read_bytes())
    path.write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(ValidationError) as error:
        raster_layer_import_file(path=path, options=LayerImportOptions())
    assert "GeoTIFF" in error.value.message_dict["file"][0]
    assert RasterLayer.objects.count() == 0
    assert media_files(media_root) == []


def test_not_a_tiff_and_missing_crs(tmp_path, districts, media_root):
    junk = tmp_path / "junk.tif"
    junk.write_bytes(b"II*\x00garbage" * 10)
    with pytest.raises(ValidationError, match="not a readable GeoTIFF"):
        raster_layer_import_file(path=junk, options=LayerImportOptions())
    path, _ = write_geotiff(tmp_path / "depth.tif", districts, with_crs=False)
    with pytest.raises(ValidationError) as error:
        raster_layer_import_file(path=path, options=LayerImportOptions())
    assert "assume_crs" in error.value.message_dict
    assert media_files(media_root) == []
    layer = raster_layer_import_file(path=path, options=LayerImportOptions(assume_crs=32646))
    assert layer.crs == "EPSG:32646"


def _skewed_geotiff(path, shape=(300, 400)):
    """Exponentially distributed values (a long right tail, where histogram bin edges are far from percentiles)."""
    import rasterio
    from rasterio.transform import from_origin

    data = np.random.default_rng(7).exponential(0.3, shape).astype(np.float32)
    data[:20, :20] = -9999
    profile = {"driver": "GTiff", "width": shape[1], "height": shape[0], "count": 1, "dtype": "float32"}
    with rasterio.open(
        path, "w", **profile, crs="EPSG:4326", transform=from_origin(90, 24, 0.001, 0.001), nodata=-9999
    ) as dataset:
        dataset.write(data, 1)
    return path, data[data != -9999]


def test_percentiles_are_numpy_percentiles_not_bin_edges(tmp_path, monkeypatch):
    monkeypatch.setattr(rasters, "STRIPE_BYTES", 4096)  # several stripes
    path, valid = _skewed_geotiff(tmp_path / "skewed.tif")
    stats = rasters.describe(path).statistics["1"]
    assert stats["p2"] == pytest.approx(float(np.percentile(valid, 2)), rel=1e-6)
    assert stats["p98"] == pytest.approx(float(np.percentile(valid, 98)), rel=1e-6)


def test_percentiles_of_a_large_band_come_from_a_uniform_sample(tmp_path, monkeypatch):
    monkeypatch.setattr(rasters, "STRIPE_BYTES", 16384)
    monkeypatch.setattr(rasters, "PERCENTILE_SAMPLE", 20_000)  # a sixth of the pixels
    path, valid = _skewed_geotiff(tmp_path / "skewed.tif")
    stats = rasters.describe(path).statistics["1"]
    # The 2nd and 98th percentiles of 20,000 uniform draws are within about 1 % (in rank) of the true ones.
    assert np.percentile(valid, 1.5) < stats["p2"] < np.percentile(valid, 2.5)
    assert np.percentile(valid, 97.5) < stats["p98"] < np.percentile(valid, 98.5)
    assert rasters.describe(path).statistics["1"]["p98"] == stats["p98"]  # the same file, the same figure
