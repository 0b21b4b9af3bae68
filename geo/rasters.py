"""Raster values at points: windows read in parallel strips and a vectorised pixel lookup (numpy + rasterio),
never a read per point."""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

# Larger windows are read in strips of this many pixels, so memory stays bounded whatever the raster's size.
STRIP_PIXELS = 128 * 1024 * 1024


class RasterReadError(ValueError):
    """The raster cannot be sampled (unreadable, or a grid this code does not handle); the message says why."""


READ_THREADS = min(4, os.cpu_count() or 1)


def read_window_threaded(
    path: str, band: int, row0: int, row1: int, col0: int, col1: int, *, threads: int = READ_THREADS
) -> np.ndarray:
    """Read rows [row0, row1) × cols [col0, col1) of a band as strips in parallel threads (one dataset handle per
    thread: GDAL handles are not thread-safe). GDAL releases the GIL while decoding, so strips decode in parallel."""
    import rasterio
    from rasterio.windows import Window

    height = row1 - row0
    out = np.empty((height, col1 - col0), dtype=np.float32)
    step = max(1, math.ceil(height / threads))

    def read(start: int) -> None:
        stop = min(start + step, height)
        window = Window(col0, row0 + start, col1 - col0, stop - start)
        with rasterio.open(path) as dataset:
            if dataset.dtypes[band - 1] == "float32":
                dataset.read(band, window=window, out=out[start:stop])  # straight into place: no strip-sized copy
            else:
                out[start:stop] = dataset.read(band, window=window, out_dtype=np.float32)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(read, range(0, height, step)))
    return out


@dataclass
class RasterSampler:
    """Pixel values at points by vectorised lookup in windows read once and reused across chunks."""

    path: str
    band: int = 1
    threads: int = READ_THREADS
    _cache: tuple | None = field(default=None, repr=False)
    _pending: object = field(default=None, repr=False)

    def __post_init__(self) -> None:
        import rasterio

        try:
            with rasterio.open(self.path) as dataset:
                self.transform = dataset.transform
                self.width, self.height = dataset.width, dataset.height
                self.nodata = dataset.nodata
                self.crs = dataset.crs
                self.bounds = dataset.bounds
                self.unit = (dataset.units or [None])[self.band - 1] or ""
        except rasterio.errors.RasterioIOError as error:
            raise RasterReadError(f"The raster could not be read ({error}).") from None
        if self.transform.b != 0 or self.transform.d != 0:
            raise RasterReadError("Rotated rasters are not supported; warp it to a north-up grid first.")
        self.lonlat = self.crs is None or self.crs.to_epsg() == 4326
        self._to_raster = None

    def lonlat_bounds(self) -> tuple[float, float, float, float]:
        if self.lonlat:
            return tuple(self.bounds)
        from rasterio.warp import transform_bounds

        return transform_bounds(self.crs, "EPSG:4326", *self.bounds)

    def pixel_box(self, box: tuple[float, float, float, float]) -> tuple[int, int, int, int] | None:
        """(row0, row1, col0, col1) of the pixels covering a lon/lat box, clipped to the raster; None if outside."""
        x0, y0, x1, y1 = box
        if not self.lonlat:
            from rasterio.warp import transform_bounds

            x0, y0, x1, y1 = transform_bounds("EPSG:4326", self.crs, x0, y0, x1, y1)
        t = self.transform
        cols = sorted([math.floor((x0 - t.c) / t.a), math.floor((x1 - t.c) / t.a)])
        rows = sorted([math.floor((y0 - t.f) / t.e), math.floor((y1 - t.f) / t.e)])
        row0, row1 = max(0, rows[0]), min(self.height, rows[1] + 1)
        col0, col1 = max(0, cols[0]), min(self.width, cols[1] + 1)
        if row0 >= row1 or col0 >= col1:
            return None
        return row0, row1, col0, col1

    def prefetch(self, box: tuple[float, float, float, float]) -> None:
        """Start reading the window under a lon/lat box in the background, while households are fetched."""
        pixels = self.pixel_box(box)
        if pixels is None or (pixels[1] - pixels[0]) * (pixels[3] - pixels[2]) > STRIP_PIXELS:
            return
        pool = ThreadPoolExecutor(max_workers=1)
        self._pending = pool.submit(self._window, *pixels)
        pool.shutdown(wait=False)

    def sample(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Values at the points (NaN outside the raster or on nodata)."""
        x, y = lon, lat
        if not self.lonlat:
            if self._to_raster is None:
                from pyproj import Transformer

                self._to_raster = Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)
            x, y = self._to_raster.transform(lon, lat)
        t = self.transform
        cols = np.floor((np.asarray(x) - t.c) / t.a).astype(np.int64)
        rows = np.floor((np.asarray(y) - t.f) / t.e).astype(np.int64)
        inside = (cols >= 0) & (cols < self.width) & (rows >= 0) & (rows < self.height)
        values = np.full(len(cols), np.nan, dtype=np.float64)
        if not inside.any():
            return values
        row0, row1 = int(rows[inside].min()), int(rows[inside].max()) + 1
        col0, col1 = int(cols[inside].min()), int(cols[inside].max()) + 1
        strip_rows = max(1, STRIP_PIXELS // max(1, col1 - col0))
        for start in range(row0, row1, strip_rows):
            stop = min(start + strip_rows, row1)
            pixels = self._window(start, stop, col0, col1)
            (c_row0, _c_row1, c_col0, _c_col1), block = pixels
            take = inside if (start, stop) == (row0, row1) else inside & (rows >= start) & (rows < stop)
            values[take] = block[rows[take] - c_row0, cols[take] - c_col0]
        if self.nodata is not None and not math.isnan(self.nodata):
            values[values == self.nodata] = np.nan
        return values

    def _window(self, row0: int, row1: int, col0: int, col1: int):
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()
        if self._cache is not None:
            (c_row0, c_row1, c_col0, c_col1), _block = self._cache
            if c_row0 <= row0 and row1 <= c_row1 and c_col0 <= col0 and col1 <= c_col1:
                return self._cache
        self._cache = None  # free the previous window before reading the next
        block = read_window_threaded(self.path, self.band, row0, row1, col0, col1, threads=self.threads)
        self._cache = ((row0, row1, col0, col1), block)
        return self._cache
