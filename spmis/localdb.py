"""A private PostgreSQL + PostGIS cluster for local work, so a newcomer needs no database set-up.

Used only when DATABASE_URL is not set. The cluster lives in ``var/pg`` (git-ignored), listens on a free
loopback port with trust authentication for loopback only, and is started on demand by the settings module.

    python -m spmis.localdb status|start|stop|init|url

PostgreSQL refuses to run as root; when we are root the server runs as the ``postgres`` system user that the
Debian packages create.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE_NAME = "spmis"
SUPERUSER = "spmis"
EXTENSIONS = ("postgis", "hstore", "postgis_raster", "pgrouting", "pg_trgm", "unaccent", "fuzzystrmatch")
FIRST_PORT = 55432

# Tuned for a laptop or a 2-core CI box doing bulk loads and creating many test databases. This cluster is for
# development, the demo and tests only: it trades crash safety for speed (fsync off), so an operating-system crash
# can damage it. Real data belongs on a server given by DATABASE_URL (docs/deploy.md).
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "unix_socket_directories": "",
    "shared_buffers": "512MB",
    "work_mem": "64MB",
    "maintenance_work_mem": "512MB",
    "max_wal_size": "4GB",
    "synchronous_commit": "off",
    "fsync": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "max_locks_per_transaction": "256",
    "jit": "off",
}


class LocalDatabaseError(RuntimeError):
    pass


@dataclass(frozen=True)
class Cluster:
    root: Path

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def port_file(self) -> Path:
        return self.root / "port"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    @property
    def lock_file(self) -> Path:
        return self.root / ".lock"

    @property
    def port(self) -> int | None:
        try:
            return int(self.port_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def url(self, database: str = DATABASE_NAME) -> str:
        return f"postgis://{SUPERUSER}@127.0.0.1:{self.port}/{database}"


def default_cluster() -> Cluster:
    return Cluster(Path(os.environ.get("SPMIS_LOCALDB_DIR", BASE_DIR / "var" / "pg")))


def _bin_dir() -> Path:
    configured = os.environ.get("PG_BINDIR")
    candidates = [Path(configured)] if configured else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for brew in ("/opt/homebrew/bin", "/usr/local/bin"):
        candidates.append(Path(brew))
    found = shutil.which("pg_ctl")
    if found:
        candidates.append(Path(found).resolve().parent)
    for candidate in candidates:
        if (candidate / "pg_ctl").exists() and (candidate / "initdb").exists():
            return candidate
    raise LocalDatabaseError(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found. Run `make bootstrap`, or set DATABASE_URL "
        "to use an existing PostgreSQL + PostGIS server."
    )


def _run_as_owner() -> list[str]:
    """Prefix that runs a server command as the cluster owner (postgres when we are root)."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise LocalDatabaseError("Running as root needs the 'postgres' system user (installed with PostgreSQL).")
    return ["runuser", "-u", "postgres", "--"]


def _chown_for_server(path: Path) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _accepts_connections(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


def _pick_port() -> int:
    for port in range(FIRST_PORT, FIRST_PORT + 200):
        if _port_is_free(port):
            return port
    raise LocalDatabaseError(f"No free loopback port between {FIRST_PORT} and {FIRST_PORT + 200}.")


def _pg(cluster: Cluster, tool: str, *args: str, quiet: bool = True) -> subprocess.CompletedProcess[str]:
    command = [*_run_as_owner(), str(_bin_dir() / tool), *args]
    result = subprocess.run(command, capture_output=True, text=True, cwd="/")
    if result.returncode != 0 and not quiet:
        raise LocalDatabaseError(f"{tool} failed:\n{result.stdout}\n{result.stderr}")
    return result


def _psql(cluster: Cluster, sql: str, database: str = "postgres") -> str:
    psql = shutil.which("psql") or str(_bin_dir() / "psql")
    command = [psql, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(cluster.port)]
    result = subprocess.run(
        [*command, "-U", SUPERUSER, "-d", database, "-c", sql],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise LocalDatabaseError(f"psql failed on {sql!r}: {result.stderr.strip()}")
    return result.stdout.strip()


def is_initialised(cluster: Cluster) -> bool:
    return (cluster.data_dir / "PG_VERSION").exists()


def is_running(cluster: Cluster) -> bool:
    port = cluster.port
    return bool(port) and (cluster.data_dir / "postmaster.pid").exists() and _accepts_connections(port)


def _ensure_server_can_reach(root: Path) -> None:
    """As root, the postgres user must be able to traverse every parent of the data directory."""
    if os.geteuid() != 0:
        return
    check = subprocess.run([*_run_as_owner(), "test", "-x", str(root)], capture_output=True)
    if check.returncode != 0:
        raise LocalDatabaseError(
            f"The postgres user cannot reach {root}. Set SPMIS_LOCALDB_DIR to a folder it can reach "
            "(for example /var/tmp/spmis-pg), or set DATABASE_URL."
        )


def init(cluster: Cluster) -> None:
    cluster.root.mkdir(parents=True, exist_ok=True)
    _chown_for_server(cluster.root)
    _ensure_server_can_reach(cluster.root)
    if is_initialised(cluster):
        return
    result = _pg(
        cluster,
        "initdb",
        "-D",
        str(cluster.data_dir),
        "-U",
        SUPERUSER,
        "--auth=trust",
        "-E",
        "UTF8",
        "--locale=C.UTF-8",
        "--no-sync",
    )
    if result.returncode != 0:
        raise LocalDatabaseError(f"initdb failed:\n{result.stdout}\n{result.stderr}")
    with (cluster.data_dir / "postgresql.auto.conf").open("a") as conf:
        for key, value in SERVER_SETTINGS.items():
            conf.write(f"{key} = '{value}'\n")


def start(cluster: Cluster) -> None:
    init(cluster)
    if is_running(cluster):
        return
    port = cluster.port
    if port is None or not _port_is_free(port):
        port = _pick_port()
        cluster.port_file.write_text(f"{port}\n")
    log = cluster.log_file
    log.touch()
    _chown_for_server(log)
    _pg(cluster, "pg_ctl", "-D", str(cluster.data_dir), "-l", str(log), "-o", f"-p {port}", "-w", "-t", "60", "start")
    deadline = time.monotonic() + 30
    while not _accepts_connections(port):
        if time.monotonic() > deadline:
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise LocalDatabaseError(f"The local PostgreSQL did not start on port {port}.\n{tail}")
        time.sleep(0.2)
    _create_database(cluster)


def _create_database(cluster: Cluster) -> None:
    exists = _psql(cluster, f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}'")
    if not exists:
        _psql(cluster, f"CREATE DATABASE {DATABASE_NAME}")
    # Extensions go into template1 too, so that test databases Django creates inherit them.
    for database in ("template1", DATABASE_NAME):
        for extension in EXTENSIONS:
            _psql(cluster, f"CREATE EXTENSION IF NOT EXISTS {extension} CASCADE", database=database)


def stop(cluster: Cluster) -> None:
    if not is_initialised(cluster):
        return
    _pg(cluster, "pg_ctl", "-D", str(cluster.data_dir), "-m", "fast", "-w", "stop")


@contextlib.contextmanager
def _locked(cluster: Cluster):
    cluster.root.mkdir(parents=True, exist_ok=True)
    with cluster.lock_file.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_running(cluster: Cluster | None = None) -> Cluster:
    """Start the local cluster if needed (safe to call from several processes at once) and return it."""
    cluster = cluster or default_cluster()
    if is_running(cluster):
        return cluster
    with _locked(cluster):
        start(cluster)
    return cluster


def status(cluster: Cluster) -> str:
    if not is_initialised(cluster):
        return f"not initialised ({cluster.data_dir})"
    if is_running(cluster):
        return f"running on 127.0.0.1:{cluster.port} ({cluster.data_dir}); url {cluster.url()}"
    return f"stopped ({cluster.data_dir})"


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "status"
    cluster = default_cluster()
    try:
        if command == "status":
            print(status(cluster))
        elif command == "init":
            init(cluster)
            print(status(cluster))
        elif command == "start":
            ensure_running(cluster)
            print(status(cluster))
        elif command == "stop":
            stop(cluster)
            print(status(cluster))
        elif command == "url":
            ensure_running(cluster)
            print(cluster.url())
        else:
            print("usage: python -m spmis.localdb [status|init|start|stop|url]", file=sys.stderr)
            return 2
    except LocalDatabaseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
