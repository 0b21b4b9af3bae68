"""GDAL's OAPIF driver (the one QGIS uses) reads the published indicators from a live server as a layer of
districts, authenticated by a partner's token; without a token it is refused."""

from __future__ import annotations

import shutil

import pytest

from tests.factories import UserFactory
from tests.layers.test_ogc_gdal import ogr

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="gdal-bin is not installed"),
]


def test_ogrinfo_reads_the_indicator_collection(live_server, world, settings):
    from rest_framework.authtoken.models import Token

    settings.SPMIS = {**settings.SPMIS, "PUBLISH_MIN_CELL": 1}
    token = Token.objects.create(user=UserFactory(roles=["partner"])).key
    url = f"OAPIF:{live_server.url}/api/v1/accountability/ogc/"

    listing = ogr("ogrinfo", "-ro", "-q", url, token=token)
    assert listing.returncode == 0, listing.stderr
    assert "households-by-division" in listing.stdout

    summary = ogr("ogrinfo", "-ro", "-so", url, "households-by-division", token=token)
    assert summary.returncode == 0, summary.stderr
    assert "Feature Count: 2" in summary.stdout
    assert "households_affected: Integer" in summary.stdout

    features = ogr("ogrinfo", "-ro", url, "households-by-division", "-where", "code = 'C-W'", token=token)
    assert features.returncode == 0, features.stderr
    assert "households_affected (Integer) = 5" in features.stdout

    refused = ogr("ogrinfo", "-ro", "-so", url, "households-by-division", token=None)
    assert refused.returncode != 0
