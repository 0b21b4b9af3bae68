"""Copernicus Emergency Management Service (rapid mapping) vector packages: find the observed-event layer in the
zip and read the activation code and product version from the standard file names, e.g.
``EMSR692_AOI01_DEL_PRODUCT_observedEventA_r1_v2.shp`` or ``EMSR700_AOI03_GRA_MONIT02_observedEventA_v1.json``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.core.exceptions import ValidationError

from spmis.core.uploads import zip_members

VECTOR_MEMBER_SUFFIXES = (".shp", ".json", ".geojson", ".gpkg", ".kml")
ACTIVATION = re.compile(r"EMSR\d{3,}", re.IGNORECASE)
AOI = re.compile(r"AOI\d+", re.IGNORECASE)
PRODUCT = re.compile(r"_(DEL|GRA|FEP|REF|GRADING|DELINEATION)_(PRODUCT|MONIT\d+)?", re.IGNORECASE)
VERSION = re.compile(r"_(?:r(\d+)_)?v(\d+)", re.IGNORECASE)


@dataclass
class EmsPackage:
    member: str
    activation_code: str
    aoi: str
    product: str
    version: str
    layers: list[str]

    @property
    def product_version(self) -> str:
        return " ".join(part for part in (self.aoi, self.product, self.version) if part)


def inspect_package(path: str | Path) -> EmsPackage:
    """Find the observed-event layer (polygons preferred) and the product metadata, or raise ValidationError."""
    members = zip_members(path, what="The EMS package")
    vectors = [m for m in members if PurePosixPath(m).suffix.lower() in VECTOR_MEMBER_SUFFIXES]
    observed = [m for m in vectors if "observedevent" in PurePosixPath(m).stem.lower()]
    if not observed:
        names = ", ".join(PurePosixPath(m).name for m in vectors) or "none"
        raise ValidationError(
            {
                "file": f"No observed-event layer in the package (expected a file named *_observedEvent*); "
                f"vector files found: {names}."
            }
        )
    # observedEventA = areas, L = lines, P = points; the flooded/burnt area is what exposure needs.
    observed.sort()
    areas = [m for m in observed if re.search(r"observedEventA", m, re.IGNORECASE)]
    member = (areas or observed)[0]
    stem = PurePosixPath(member).stem
    activation = ACTIVATION.search(stem) or ACTIVATION.search(Path(path).name)
    if not activation:
        raise ValidationError({"file": f"Cannot tell the EMS activation code (EMSRnnn) from {stem!r}."})
    aoi = AOI.search(stem)
    product = PRODUCT.search(stem)
    version = VERSION.search(stem[stem.lower().find("observedevent") :])
    version_text = ""
    if version:
        version_text = (f"r{version.group(1)} " if version.group(1) else "") + f"v{version.group(2)}"
    return EmsPackage(
        member=member,
        activation_code=activation.group(0).upper(),
        aoi=aoi.group(0).upper() if aoi else "",
        product=" ".join(p.upper() for p in product.groups() if p) if product else "",
        version=version_text,
        layers=[PurePosixPath(m).stem for m in vectors],
    )
