"""Layer ingestion throughput: a generated 1,000,000-point GeoPackage through the vector import (COPY → staging →
repair → INSERT SELECT), against plain `ogr2ogr -f PostgreSQL` into the same database; and a 10,000 × 10,000 float32
GeoTIFF through the raster import (COG + block-wise statistics and histogram), against `gdal_translate -of COG`.

The input files are generated in a child process, so the peak memory reported is the ingestion's own.

    make bench-layers                       # full size
    make bench-layers BENCH_ARGS=--quick    # 50,000 features, 2,000 × 2,000 pixels
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._harness import bench_database, peak_rss_mb, result_line

BBOX = (88.0, 20.7, 92.7, 26.6)  # Bangladesh
COG_OPTIONS = ["COMPRESS=DEFLATE", "BLOCKSIZE=512", "PREDICTOR=3", "NUM_THREADS=ALL_CPUS", "BIGTIFF=IF_SAFER"]


def generate_vector(path: Path, count: int) -> None:
    import geopandas as gpd
    import numpy as np
    import pyogrio
    import shapely

    rng = np.random.default_rng(42)
    chunk = 250_000
    for start in range(0, count, chunk):
        n = min(chunk, count - start)
        x = rng.uniform(BBOX[0], BBOX[2], n)
        y = rng.uniform(BBOX[1], BBOX[3], n)
        frame = gpd.GeoDataFrame(
            {
                "site_id": np.arange(start, start + n, dtype=np.int64),
                "name": [f"site {i}" for i in range(start, start + n)],
                "depth_m": rng.gamma(2.0, 0.6, n).round(3),
                "surveyed": rng.integers(0, 2, n).astype(bool),
            },
            geometry=shapely.points(x, y),
            crs="EPSG:4326",
        )
        pyogrio.write_dataframe(frame, path, layer="sites", append=start > 0)


def generate_raster(path: Path, size: int) -> None:
    import numpy as np
    import rasterio
    from rasterio.transform import from_bounds
    from rasterio.windows import Window

    transform = from_bounds(*BBOX, size, size)
    profile = {
        "driver": "GTiff", "width": size, "height": size, "count": 1, "dtype": "float32", "crs": "EPSG:4326",
        "transform": transform, "nodata": -9999.0, "tiled": True, "blockxsize": 512, "blockysize": 512,
        "BIGTIFF": "IF_SAFER",
    }  # fmt: skip
    rng = np.random.default_rng(7)
    with rasterio.open(path, "w", **profile) as dst:
        for row in range(0, size, 512):
            height = min(512, size - row)
            yy = (np.arange(row, row + height) / size)[:, None]
            xx = (np.arange(size) / size)[None, :]
            depth = (np.sin(xx * 12) * np.cos(yy * 9) * 2 + 1.5 + rng.normal(0, 0.1, (height, size))).astype("float32")
            depth[depth < 0.2] = -9999.0
            dst.write(depth, 1, window=Window(0, row, size, height))


def ogr2ogr_baseline(path: Path, database: dict) -> float:
    pg = f"PG:dbname={database['NAME']} host={database['HOST']} port={database['PORT']} user={database['USER']}" + (
        f" password={database['PASSWORD']}" if database.get("PASSWORD") else ""
    )
    start = time.perf_counter()
    subprocess.run(
        ["ogr2ogr", "-f", "PostgreSQL", pg, str(path), "sites", "-nln", "ogr_baseline", "-lco", "GEOMETRY_NAME=geom",
         "-lco", "SPATIAL_INDEX=GIST", "-gt", "100000", "--config", "PG_USE_COPY", "YES"],
        check=True,
    )  # fmt: skip
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="50,000 features and 2,000 × 2,000 pixels")
    parser.add_argument("--features", type=int)
    parser.add_argument("--raster-size", type=int)
    parser.add_argument("--generate", nargs=4, metavar=("VECTOR", "COUNT", "RASTER", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        vector, count, raster, size = args.generate
        generate_vector(Path(vector), int(count))
        generate_raster(Path(raster), int(size))
        return

    features = args.features or (50_000 if args.quick else 1_000_000)
    size = args.raster_size or (2_000 if args.quick else 10_000)
    for tool in ("ogr2ogr", "gdal_translate"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} (gdal-bin) is needed for the baseline")

    with tempfile.TemporaryDirectory(prefix="bench-layers-") as folder:
        folder = Path(folder)
        vector_path, raster_path = folder / "sites.gpkg", folder / "depth.tif"
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, __file__, "--generate", str(vector_path), str(features), str(raster_path), str(size)],
            check=True,
        )
        print(
            f"data: {features:,} points in a GeoPackage ({vector_path.stat().st_size / 2**20:.0f} MiB), "
            f"{size:,} × {size:,} float32 GeoTIFF ({raster_path.stat().st_size / 2**20:.0f} MiB); "
            f"generated in {time.perf_counter() - start:.1f} s",
            flush=True,
        )
        with bench_database("layers"):
            from django.conf import settings
            from django.db import connection

            from layers.services import LayerImportOptions, raster_layer_import_file, vector_layer_import_file

            settings.MEDIA_ROOT = folder / "media"
            database = connection.settings_dict

            baseline_vector = ogr2ogr_baseline(vector_path, database)
            print(f"ogr2ogr -f PostgreSQL: {baseline_vector:.1f} s ({features / baseline_vector:,.0f} features/s)")
            rss_before = peak_rss_mb()
            start = time.perf_counter()
            _, result = vector_layer_import_file(path=vector_path, options=LayerImportOptions(name="sites"))
            ours_vector = time.perf_counter() - start
            assert result.features == features, result
            print(f"spmis vector import: {ours_vector:.1f} s ({features / ours_vector:,.0f} features/s), "
                  f"peak RSS {peak_rss_mb():.0f} MiB (before {rss_before:.0f})", flush=True)  # fmt: skip

            start = time.perf_counter()
            subprocess.run(
                ["gdal_translate", "-q", "-of", "COG", *[x for o in COG_OPTIONS for x in ("-co", o)],
                 str(raster_path), str(folder / "baseline_cog.tif")],
                check=True,
            )  # fmt: skip
            baseline_raster = time.perf_counter() - start
            megapixels = size * size / 1e6
            print(f"gdal_translate -of COG: {baseline_raster:.1f} s ({megapixels / baseline_raster:,.1f} Mpix/s)")
            start = time.perf_counter()
            raster = raster_layer_import_file(path=raster_path, options=LayerImportOptions(name="depth", unit="m"))
            ours_raster = time.perf_counter() - start
            print(f"spmis raster import (COG + statistics + histogram): {ours_raster:.1f} s "
                  f"({megapixels / ours_raster:,.1f} Mpix/s); valid pixels {raster.statistics['1']['count']:,}",
                  flush=True)  # fmt: skip

    # The last line printed, for scripts: RESULT layers key=value ...

    result_line(
        "layers",
        features=features,
        raster_pixels=size * size,
        vector_features_per_s=features / ours_vector,
        vector_ratio_vs_ogr2ogr=baseline_vector / ours_vector,
        raster_mpix_per_s=megapixels / ours_raster,
        raster_ratio_vs_gdal=baseline_raster / ours_raster,
        peak_rss_mb=peak_rss_mb(),
        cpus=os.cpu_count(),
    )


if __name__ == "__main__":
    main()
