"""The project's own PostgreSQL cluster: initialised, started, reported and stopped without any set-up."""

import os
import shutil
import subprocess
import sys
import uuid

import pytest
from django.conf import settings
from django.db import connection

from spmis import localdb


@pytest.mark.django_db
def test_the_suite_runs_on_real_postgis_with_the_extensions():
    with connection.cursor() as cursor:
        cursor.execute("SELECT extname FROM pg_extension")
        extensions = {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT current_database()")
        (database,) = cursor.fetchone()
    assert {"postgis", "postgis_raster", "pgrouting", "pg_trgm", "hstore"} <= extensions
    assert database.startswith("test_")
    assert connection.vendor == "postgresql"


@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="a configured server is in use")
def test_a_fresh_cluster_initialises_starts_and_stops():
    # Under var/ rather than /tmp: when we are root the server runs as `postgres`, which must reach the folder.
    root = settings.BASE_DIR / "var" / f"pg-test-{uuid.uuid4().hex[:8]}"
    cluster = localdb.Cluster(root)
    try:
        assert localdb.status(cluster).startswith("not initialised")
        localdb.ensure_running(cluster)
        assert localdb.status(cluster).startswith("running on 127.0.0.1:")
        version = subprocess.run(
            [
                "psql",
                "-X",
                "-At",
                "-h",
                "127.0.0.1",
                "-p",
                str(cluster.port),
                "-U",
                "spmis",
                "-d",
                "spmis",
                "-c",
                "SELECT postgis_lib_version()",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert version.startswith("3.")
        localdb.ensure_running(cluster)  # idempotent
        localdb.stop(cluster)
        assert localdb.status(cluster).startswith("stopped")
    finally:
        localdb.stop(cluster)
        shutil.rmtree(root, ignore_errors=True)


def test_status_command_reports_the_project_cluster():
    if os.environ.get("DATABASE_URL"):
        pytest.skip("a configured server is in use")
    output = subprocess.run(
        [sys.executable, "-m", "spmis.localdb", "status"],
        capture_output=True,
        text=True,
        check=True,
        cwd=settings.BASE_DIR,
    ).stdout
    assert output.startswith("running on 127.0.0.1:")
