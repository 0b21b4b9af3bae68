"""Raster files: check a GeoTIFF, write it as a Cloud-Optimized GeoTIFF, and describe it (band metadata,
statistics, histogram) reading one stripe of blocks at a time, so memory stays flat whatever the file size.
Tiles and point values are read from the COG with rio-tiler."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError

HISTOGRAM_BINS = 50
# Percentiles come from a uniform random sample of at most this many valid pixels per band (all of them when the
# band has fewer, so small rasters get numpy's exact percentiles): 8 MB per band at most, whatever the file size.
PERCENTILE_SAMPLE = 1_000_000
STRIPE_BYTES = 64 * 1024 * 1024
COG_OPTIONS = {
    "COMPRESS": "DEFLATE",
    "BLOCKSIZE": "512",
    "OVERVIEWS": "AUTO",
    "OVERVIEW_RESAMPLING": "NEAREST",
    "BIGTIFF": "IF_SAFER",
    "NUM_THREADS": "ALL_CPUS",
}
GDAL_ENV = {"GDAL_CACHEMAX": 256, "GDAL_PAM_ENABLED": "NO", "CHECK_DISK_FREE_SPACE": "FALSE"}


@dataclass
class RasterDescription:
    crs: str
    width: int
    height: int
    bounds: list[float]
    band_count: int
    dtype: str
    nodata: float | None
    resolution: list[float]
    bands: list[dict] = field(default_factory=list)
    statistics: dict = field(default_factory=dict)
    histogram: dict = field(default_factory=dict)


def _bad(message: str) -> ValidationError:
    return ValidationError({"file": message})


def write_cog(
    source: str | Path,
    destination: str | Path,
    *,
    assume_crs: int | None = None,
    nodata: float | None = None,
) -> None:
    """Check `source` is a readable GeoTIFF with a CRS (or one stated) and write it to `destination` as a COG,
    streamed by GDAL block by block."""
    import rasterio
    import rasterio.shutil
    from rasterio._err import CPLE_BaseError
    from rasterio.crs import CRS
    from rasterio.errors import RasterioError

    source = str(source)
    with rasterio.Env(**GDAL_ENV):
        try:
            src = rasterio.open(source)
        except (RasterioError, CPLE_BaseError) as error:
            raise _bad(f"The file is not a readable GeoTIFF ({_first_line(error)}).") from None
        with src:
            if src.driver not in ("GTiff", "COG"):
                raise _bad(f"Expected a GeoTIFF; this is a {src.driver} raster.")
            if src.crs is None and assume_crs is None:
                raise ValidationError(
                    {"assume_crs": "The GeoTIFF does not say which coordinate reference system it uses; state it."}
                )
            if src.crs is None and src.transform.is_identity:
                raise _bad("The GeoTIFF has no georeferencing (no CRS and no geotransform).")
            options = dict(COG_OPTIONS)
            if src.dtypes[0] in ("float32", "float64"):
                options["PREDICTOR"] = "3"
            elif src.dtypes[0] != "int8":
                options["PREDICTOR"] = "2"
            dataset = src
            if src.crs is None or (nodata is not None and src.nodata is None):
                dataset = _reframed(src, CRS.from_epsg(assume_crs) if src.crs is None else src.crs, nodata)
            try:
                rasterio.shutil.copy(dataset, str(destination), driver="COG", **options)
            except (RasterioError, CPLE_BaseError) as error:
                Path(destination).unlink(missing_ok=True)
                raise _bad(f"The GeoTIFF is damaged or truncated ({_first_line(error)}).") from None
            finally:
                if dataset is not src:
                    dataset.close()


def _reframed(src, crs, nodata):
    """A VRT of `src` with the stated CRS / nodata, so the COG carries them without rewriting pixels in Python."""
    from rasterio.vrt import WarpedVRT

    return WarpedVRT(
        src,
        src_crs=crs,
        crs=crs,
        transform=src.transform,
        width=src.width,
        height=src.height,
        src_nodata=nodata if nodata is not None else src.nodata,
        nodata=nodata if nodata is not None else src.nodata,
    )


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0][:200] if str(error) else type(error).__name__


def describe(path: str | Path, *, progress: Callable[[float], None] | None = None) -> RasterDescription:
    """Metadata, per-band statistics and histograms of a raster, in two streamed passes over row stripes."""
    import numpy as np
    import rasterio
    from rasterio._err import CPLE_BaseError
    from rasterio.errors import RasterioError
    from rasterio.warp import transform_bounds
    from rasterio.windows import Window

    with rasterio.Env(**GDAL_ENV), rasterio.open(str(path)) as src:
        bounds = list(transform_bounds(src.crs, "EPSG:4326", *src.bounds, densify_pts=21))
        block_height = src.block_shapes[0][0]
        bytes_per_row = src.width * src.count * np.dtype(src.dtypes[0]).itemsize
        stripe = max(block_height, (STRIPE_BYTES // max(bytes_per_row, 1)) // block_height * block_height)
        windows = [Window(0, row, src.width, min(stripe, src.height - row)) for row in range(0, src.height, stripe)]
        bands = range(1, src.count + 1)
        acc = {b: {"count": 0, "sum": 0.0, "sumsq": 0.0, "min": np.inf, "max": -np.inf} for b in bands}
        steps = 2 * len(windows)

        def valid_values(window, band):
            data = src.read(band, window=window, masked=True)
            values = data.compressed()
            if values.dtype.kind == "f":
                values = values[np.isfinite(values)]
            return values

        try:
            for step, window in enumerate(windows, start=1):
                for band in bands:
                    values = valid_values(window, band)
                    if values.size:
                        a = acc[band]
                        a["count"] += int(values.size)
                        a["sum"] += float(values.sum(dtype=np.float64))
                        a["sumsq"] += float(np.square(values, dtype=np.float64).sum())
                        a["min"] = min(a["min"], float(values.min()))
                        a["max"] = max(a["max"], float(values.max()))
                if progress:
                    progress(step / steps)
            edges = {}
            counts = {}
            samples: dict[int, list] = {band: [] for band in bands}
            rng = np.random.default_rng(0)  # seeded: describing the same file twice gives the same percentiles
            for band in bands:
                a = acc[band]
                low, high = (a["min"], a["max"]) if a["count"] else (0.0, 1.0)
                if high <= low:
                    high = low + 1
                edges[band] = np.linspace(low, high, HISTOGRAM_BINS + 1)
                counts[band] = np.zeros(HISTOGRAM_BINS, dtype=np.int64)
            for step, window in enumerate(windows, start=len(windows) + 1):
                for band in bands:
                    values = valid_values(window, band)
                    if values.size:
                        counts[band] += np.histogram(values, bins=edges[band])[0]
                        keep = min(1.0, PERCENTILE_SAMPLE / acc[band]["count"])
                        if keep >= 1.0:
                            samples[band].append(values)
                        else:  # each pixel kept with the same probability: a uniform sample of the band
                            picked = rng.choice(values.size, size=rng.binomial(values.size, keep), replace=False)
                            samples[band].append(values[picked])
                if progress:
                    progress(step / steps)
        except (RasterioError, CPLE_BaseError) as error:
            raise _bad(f"The GeoTIFF is damaged or truncated ({_first_line(error)}).") from None

        statistics = {}
        histogram = {}
        band_meta = []
        for band in bands:
            a = acc[band]
            n = a["count"]
            mean = a["sum"] / n if n else None
            std = float(np.sqrt(max(a["sumsq"] / n - mean * mean, 0.0))) if n else None
            sample = np.concatenate(samples[band]) if samples[band] else np.empty(0)
            p2, p98 = (float(v) for v in np.percentile(sample, [2, 98])) if sample.size else (None, None)
            statistics[str(band)] = {
                "count": n,
                "min": a["min"] if n else None,
                "max": a["max"] if n else None,
                "mean": mean,
                "std": std,
                "p2": p2,
                "p98": p98,
            }
            histogram[str(band)] = {"edges": edges[band].tolist(), "counts": counts[band].tolist()}
            band_meta.append(
                {
                    "index": band,
                    "dtype": src.dtypes[band - 1],
                    "description": src.descriptions[band - 1] or "",
                    "nodata": src.nodatavals[band - 1],
                    "units": (src.units[band - 1] or "") if src.units else "",
                }
            )
        return RasterDescription(
            crs=src.crs.to_string(),
            width=src.width,
            height=src.height,
            bounds=bounds,
            band_count=src.count,
            dtype=src.dtypes[0],
            nodata=None if src.nodata is None else float(src.nodata),
            resolution=[abs(src.res[0]), abs(src.res[1])],
            bands=band_meta,
            statistics=statistics,
            histogram=histogram,
        )


def default_style(statistics: dict) -> dict:
    band = statistics.get("1") or {}
    low = band.get("p2") if band.get("p2") is not None else band.get("min")
    high = band.get("p98") if band.get("p98") is not None else band.get("max")
    return {"colormap": "viridis", "opacity": 0.8, "rescale": [low, high] if low is not None else None, "breaks": []}


def validate_style(style: dict) -> dict:
    """Check a raster style: colormap name, opacity 0–1, rescale [min, max], and/or class breaks with colours."""
    from rio_tiler.colormap import cmap

    if not isinstance(style, dict):
        raise ValidationError({"style": "Expected an object."})
    allowed = {"colormap", "opacity", "rescale", "breaks", "colors", "labels"}
    unknown = set(style) - allowed
    if unknown:
        raise ValidationError({"style": f"Unknown keys: {', '.join(sorted(unknown))}."})
    name = style.get("colormap", "viridis")
    if name not in cmap.list():
        raise ValidationError({"style": f"Unknown colormap {name!r}."})
    opacity = style.get("opacity", 1)
    if not isinstance(opacity, int | float) or not 0 <= opacity <= 1:
        raise ValidationError({"style": "opacity must be between 0 and 1."})
    rescale = style.get("rescale")
    if rescale is not None and (
        not isinstance(rescale, list) or len(rescale) != 2 or not all(isinstance(v, int | float) for v in rescale)
    ):
        raise ValidationError({"style": "rescale must be [min, max]."})
    breaks = style.get("breaks") or []
    if breaks:
        if not all(isinstance(v, int | float) for v in breaks) or sorted(breaks) != breaks or len(breaks) < 2:
            raise ValidationError({"style": "breaks must be at least two increasing numbers."})
        colors = style.get("colors") or []
        if colors and len(colors) != len(breaks) - 1:
            raise ValidationError({"style": f"{len(breaks) - 1} classes need {len(breaks) - 1} colors."})
        for colour in colors:
            _hex_to_rgba(colour)
    return style


def _hex_to_rgba(colour: str, alpha: int = 255) -> tuple[int, int, int, int]:
    text = str(colour).lstrip("#")
    if len(text) != 6:
        raise ValidationError({"style": f"Colour {colour!r} is not #rrggbb."})
    try:
        return (int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16), alpha)
    except ValueError:
        raise ValidationError({"style": f"Colour {colour!r} is not #rrggbb."}) from None


def class_colormap(style: dict) -> list:
    """rio-tiler interval colormap [((low, high), (r, g, b, a)), …] from class breaks."""
    from rio_tiler.colormap import cmap

    breaks = style["breaks"]
    alpha = round(255 * float(style.get("opacity", 1)))
    colors = style.get("colors")
    if colors:
        rgba = [_hex_to_rgba(c, alpha) for c in colors]
    else:
        ramp = cmap.get(style.get("colormap", "viridis"))
        classes = len(breaks) - 1
        rgba = [(*ramp[int(i * 255 / max(classes - 1, 1))][:3], alpha) for i in range(classes)]
    return [((breaks[i], breaks[i + 1]), rgba[i]) for i in range(len(breaks) - 1)]


def render_tile(path: str | Path, *, z: int, x: int, y: int, style: dict, statistics: dict) -> bytes | None:
    """A 256×256 PNG of band 1 coloured by the style, or None when the tile misses the raster."""
    import numpy as np
    from rio_tiler.colormap import cmap
    from rio_tiler.io import Reader

    with Reader(str(path)) as reader:
        if not reader.tile_exists(x, y, z):
            return None
        image = reader.tile(x, y, z, indexes=1, tilesize=256)
    if style.get("breaks"):
        return image.render(img_format="PNG", colormap=class_colormap(style))
    rescale = style.get("rescale") or default_style(statistics).get("rescale") or [0, 1]
    image.rescale(in_range=[tuple(rescale)])
    ramp = dict(cmap.get(style.get("colormap", "viridis")))
    alpha = round(255 * float(style.get("opacity", 1)))
    ramp = {k: (*v[:3], alpha) for k, v in ramp.items()}
    image.array.data[...] = np.clip(image.array.data, 0, 255)
    return image.render(img_format="PNG", colormap=ramp)


def point_values(path: str | Path, *, lon: float, lat: float) -> list[float | None]:
    """Band values at lon/lat (EPSG:4326); None where nodata. ValidationError outside the raster."""
    import numpy as np
    from rasterio._err import CPLE_BaseError
    from rasterio.errors import RasterioError
    from rio_tiler.errors import PointOutsideBounds
    from rio_tiler.io import Reader

    with Reader(str(path)) as reader:
        try:
            point = reader.point(lon, lat)
        except (PointOutsideBounds, RasterioError, CPLE_BaseError):
            raise ValidationError({"lon": "The point lies outside the raster."}) from None
    values = point.array
    mask = np.ma.getmaskarray(values)
    return [None if masked else float(value) for value, masked in zip(values.data, mask, strict=True)]
