"""GDAL's own OAPIF driver (the one QGIS uses) reads the layers from a live server, authenticated by token."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from layers.services import LayerImportOptions, vector_layer_import_file
from tests.factories import UserFactory
from tests.layers.conftest import write_shapefile_zip

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="gdal-bin is not installed"),
]


def ogr(*args: str, token: str | None) -> subprocess.CompletedProcess:
    env = {**os.environ, "GDAL_HTTP_TIMEOUT": "60", "CPL_DEBUG": "OFF"}
    if token:
        env["GDAL_HTTP_HEADERS"] = f"Authorization: Token {token}"
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)


def test_ogrinfo_and_ogr2ogr_read_a_layer_over_oapif(live_server, tmp_path, districts):
    from rest_framework.authtoken.models import Token

    layer, _ = vector_layer_import_file(
        path=write_shapefile_zip(districts, tmp_path, crs_epsg=32646), options=LayerImportOptions(name="Districts")
    )
    token = Token.objects.create(user=UserFactory(roles=["program_officer"])).key
    url = f"OAPIF:{live_server.url}/api/v1/layers/ogc/"

    summary = ogr("ogrinfo", "-ro", "-so", url, str(layer.pk), token=token)
    assert summary.returncode == 0, summary.stderr
    assert "Feature Count: 64" in summary.stdout
    assert "name: String" in summary.stdout

    # A page size below the feature count makes GDAL follow our "next" links.
    out = tmp_path / "copy.gpkg"
    copied = ogr(
        "ogr2ogr",
        "-oo",
        "PAGE_SIZE=25",
        "-f",
        "GPKG",
        str(out),
        url,
        str(layer.pk),
        "-spat",
        "88",
        "20",
        "93",
        "27",
        token=token,
    )
    assert copied.returncode == 0, copied.stderr
    import pyogrio

    frame = pyogrio.read_dataframe(out)
    assert len(frame) == 64 and "Dhaka" in set(frame["name"])

    refused = ogr("ogrinfo", "-ro", "-so", url, str(layer.pk), token=None)
    assert refused.returncode != 0
