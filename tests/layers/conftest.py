"""Real files for layer tests, written with GDAL (pyogrio / rasterio) from the real Bangladesh boundaries."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def media_root(tmp_path, settings):
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    return root


def media_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


@pytest.fixture(scope="session")
def districts():
    from geo.demo import bangladesh_frames

    frame = bangladesh_frames()[2].copy()
    frame["pop_k"] = range(100, 100 + len(frame))
    frame["density"] = [round(1000 / (i + 1), 3) for i in range(len(frame))]
    return frame


@pytest.fixture(scope="session")
def divisions():
    from geo.demo import bangladesh_frames

    return bangladesh_frames()[1].copy()


def zip_files(target: Path, files: list[Path], *, arcname=lambda p: p.name) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            archive.write(file, arcname(file))
    return target


def write_shapefile_zip(frame, folder: Path, name: str = "districts", *, crs_epsg: int | None = None) -> Path:
    import pyogrio

    shp_dir = folder / f"{name}_shp"
    shp_dir.mkdir()
    out = frame.to_crs(epsg=crs_epsg) if crs_epsg else frame
    pyogrio.write_dataframe(out, shp_dir / f"{name}.shp", driver="ESRI Shapefile")
    return zip_files(folder / f"{name}.zip", sorted(shp_dir.iterdir()))


def write_geotiff(
    path: Path, frame, *, epsg: int = 32646, resolution: float = 2000.0, dtype="float32", with_crs: bool = True
):
    """Rasterize the districts (value = 0.1 × position + 0.05, nodata −9999 outside) in a projected CRS."""
    import numpy as np
    import rasterio
    from rasterio.features import rasterize
    from rasterio.transform import from_origin

    projected = frame.to_crs(epsg=epsg)
    min_x, min_y, max_x, max_y = projected.total_bounds
    width = int((max_x - min_x) / resolution) + 1
    height = int((max_y - min_y) / resolution) + 1
    transform = from_origin(min_x, max_y, resolution, resolution)
    shapes = [(geom, 0.1 * i + 0.05) for i, geom in enumerate(projected.geometry)]
    data = rasterize(shapes, out_shape=(height, width), transform=transform, fill=-9999, dtype=dtype)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=width,
        height=height,
        count=1,
        dtype=dtype,
        crs=f"EPSG:{epsg}" if with_crs else None,
        transform=transform,
        nodata=-9999,
        tiled=True,
        blockxsize=256,
        blockysize=256,
    ) as dst:
        dst.write(data, 1)
        dst.set_band_description(1, "flood depth")
    return path, data.astype(np.float64)


@pytest.fixture
def http_server():
    """A local HTTP server on 127.0.0.1: http_server.routes[path] = (status, headers, body); .url(path); .hits."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    routes: dict[str, tuple[int, dict, bytes]] = {}
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            status, headers, body = routes.get(self.path, (404, {}, b"not here"))
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.routes, server.hits = routes, hits
    server.url = lambda path, host="127.0.0.1": f"http://{host}:{server.server_address[1]}{path}"
    yield server
    server.shutdown()
    server.server_close()
