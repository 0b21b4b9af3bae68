"""Fuzz the whole API with schemathesis, as the admin and as a scoped coordinator, on a small demo database.

    make fuzz                                   # defaults below
    make fuzz FUZZ_ARGS="--max-examples 10 --households 2000"

It builds (once) a template database `spmis_fuzz_template` on the configured PostgreSQL (the local cluster unless
DATABASE_URL is set) with migrations and `load_demo`, clones it into a fresh `spmis_fuzz` for every run (the fuzzer
creates and deletes objects, so each run starts from the same data), serves it with gunicorn on a free loopback
port, fetches API tokens for `admin` and `sylhet.coordinator`, and runs the schemathesis CLI over /api/schema/
with two checks only: no 5xx (`not_a_server_error`) and responses that match the schema
(`response_schema_conformance`). The last line is

    RESULT fuzz cases=N server_errors=N schema_violations=N

Reports (one NDJSON event stream per user) land in var/fuzz/. Not part of `make test`: it takes minutes.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
SCHEMATHESIS = ROOT / ".venv" / "bin" / "schemathesis"
OUT = ROOT / "var" / "fuzz"
TEMPLATE = "spmis_fuzz_template"
DATABASE = "spmis_fuzz"
# The admin sees every operation's data; the scoped coordinator checks that scoping leaves responses well formed.
USERS = ("admin", "sylhet.coordinator")


STARTED = time.monotonic()


def log(message: str) -> None:
    print(f"fuzz [{time.monotonic() - STARTED:4.0f}s]: {message}", file=sys.stderr, flush=True)


def server_url() -> str:
    """The PostgreSQL server to use, as a URL naming its maintenance database."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        subprocess.run([PYTHON, "-m", "spmis.localdb", "start"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        url = subprocess.run(
            [PYTHON, "-m", "spmis.localdb", "url"], cwd=ROOT, check=True, capture_output=True, text=True
        ).stdout.strip()
    return url


def with_database(url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


def admin_sql(url: str, *statements: str) -> list[tuple]:
    import psycopg

    parts = urllib.parse.urlsplit(with_database(url, "postgres"))
    conninfo = urllib.parse.urlunsplit(parts._replace(scheme="postgresql"))
    rows: list[tuple] = []
    with psycopg.connect(conninfo, autocommit=True) as connection:
        for statement in statements:
            cursor = connection.execute(statement)
            if cursor.description:
                rows.extend(cursor.fetchall())
    return rows


def manage(database_url: str, *args: str, env: dict[str, str]) -> None:
    with (OUT / "prepare.log").open("a") as output:
        subprocess.run(
            [PYTHON, "manage.py", *args], cwd=ROOT, check=True, env={**env, "DATABASE_URL": database_url}, stdout=output
        )


def prepare_database(url: str, households: int, env: dict[str, str]) -> str:
    exists = admin_sql(url, f"SELECT 1 FROM pg_database WHERE datname = '{TEMPLATE}'")
    if not exists:
        log(f"creating {TEMPLATE}")
        admin_sql(url, f"CREATE DATABASE {TEMPLATE} TEMPLATE template1")
    template_url = with_database(url, TEMPLATE)
    log("migrating and loading the demo into the template (skipped when already there)")
    manage(template_url, "migrate", "--no-input", "-v", "0", env=env)
    manage(template_url, "load_demo", "--households", str(households), "-v", "0", env=env)
    admin_sql(
        url, f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)", f"CREATE DATABASE {DATABASE} TEMPLATE {TEMPLATE}"
    )
    return with_database(url, DATABASE)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def serve(database_url: str, env: dict[str, str], media_root: str):
    port = free_port()
    server_log = (OUT / "server.log").open("w")
    gunicorn = [
        PYTHON,
        "-m",
        "gunicorn",
        "spmis.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--threads",
        "2",
    ]
    process = subprocess.Popen(
        [*gunicorn, "--timeout", "120", "--access-logfile", "-"],
        cwd=ROOT,
        env={**env, "DATABASE_URL": database_url, "MEDIA_ROOT": media_root},
        stdout=server_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/v1/auth/token/", timeout=5)
            except urllib.error.HTTPError:
                break  # the server answers (405 for GET)
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not start; see {OUT / 'server.log'}") from None
                time.sleep(0.5)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        server_log.close()


def token(base: str, username: str, password: str) -> str:
    body = urllib.parse.urlencode({"username": username, "password": password}).encode()
    with urllib.request.urlopen(f"{base}/api/v1/auth/token/", data=body, timeout=30) as response:
        return json.load(response)["token"]


def fetch_schema(base: str, key: str, path: Path) -> None:
    request = urllib.request.Request(
        f"{base}/api/schema/?format=json", headers={"Authorization": f"Token {key}", "Accept": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        path.write_bytes(response.read())


def run_schemathesis(
    base: str, username: str, key: str, schema: Path, *, phases: str, max_time: int, args: argparse.Namespace
) -> Path:
    report = OUT / f"{username}.ndjson"
    command = [
        SCHEMATHESIS,
        "run",
        str(schema),
        "--url",
        base,
        "--header",
        f"Authorization: Token {key}",
        "--checks",
        "not_a_server_error,response_schema_conformance",
        "--max-examples",
        str(args.max_examples),
        "--phases",
        phases,
        "--seed",
        str(args.seed),
        "--workers",
        str(args.workers),
        "--request-timeout",
        "60",
        "--suppress-health-check",
        "all",
        "--continue-on-failure",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
    ]
    if max_time:
        command += ["--max-time", str(max_time)]
    log(f"schemathesis as {username}")
    with (OUT / f"{username}.log").open("w") as output:
        # Run inside var/fuzz: schemathesis keeps a cache folder in its working directory.
        subprocess.run(command, cwd=OUT, stdout=output, stderr=subprocess.STDOUT, check=False)
    return report


def tally(report: Path) -> tuple[int, collections.Counter, list[str]]:
    """Count the test cases and the distinct failures per check in one NDJSON report."""
    cases = 0
    failures: collections.Counter = collections.Counter()
    seen: set[tuple[str, str, str]] = set()
    examples: list[str] = []
    if not report.exists():
        return 0, failures, [f"no report at {report}"]
    for line in report.read_text().splitlines():
        event = json.loads(line)
        if "NonFatalError" in event:
            # Schemathesis itself failing to build cases for an operation, not an answer from the API.
            label = event["NonFatalError"].get("label", "?")
            examples.append(f"schemathesis error (not an API failure): {label}")
            continue
        scenario = event.get("ScenarioFinished")
        if not scenario:
            continue
        recorder = scenario.get("recorder") or {}
        cases += len(recorder.get("cases") or {})
        label = recorder.get("label", "?")
        for check_list in (recorder.get("checks") or {}).values():
            for check in check_list:
                if str(check.get("status")).lower() != "failure":
                    continue
                name = check.get("name", "?")
                failure = check.get("failure_info") or {}
                title = (failure.get("failure") or {}).get("title", "") if isinstance(failure, dict) else ""
                key = (label, name, title)
                if key in seen:
                    continue
                seen.add(key)
                failures[name] += 1
                examples.append(f"{name}: {label}: {title}")
    return cases, failures, examples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=2000)
    parser.add_argument("--max-examples", type=int, default=5)
    parser.add_argument("--phases", default="examples,coverage,fuzzing", help="schemathesis phases for the admin")
    # The coverage phase (every boundary and negative value of every parameter) takes most of the time and
    # probes input handling, which does not depend on the user; the scoped user runs the random phases only.
    parser.add_argument("--scoped-phases", default="examples,fuzzing", help="phases for the scoped user")
    # Time budgets keep the whole run near ten minutes on a loaded two-core machine (0: no limit; unbounded, the
    # admin's coverage phase alone takes 10-15 minutes there).
    parser.add_argument("--max-time", type=int, default=300, help="seconds for the admin's run")
    parser.add_argument("--scoped-max-time", type=int, default=120, help="seconds for the scoped user's run")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    OUT.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "spmis.settings.local"}
    env.pop("CELERY_BROKER_URL", None)  # jobs run in the request, so the fuzzer sees their errors
    url = server_url()
    database_url = prepare_database(url, args.households, env)
    password = (ROOT / "var" / "demo-password").read_text().strip()
    media_root = tempfile.mkdtemp(prefix="spmis-fuzz-media-")
    total_cases = 0
    totals: collections.Counter = collections.Counter()
    try:
        with serve(database_url, env, media_root) as base:
            log(f"serving {base}")
            for username in USERS:
                key = token(base, username, password)
                schema = OUT / f"schema-{username}.json"
                fetch_schema(base, key, schema)
                admin = username == "admin"
                report = run_schemathesis(
                    base,
                    username,
                    key,
                    schema,
                    phases=args.phases if admin else args.scoped_phases,
                    max_time=args.max_time if admin else args.scoped_max_time,
                    args=args,
                )
                cases, failures, examples = tally(report)
                total_cases += cases
                totals.update(failures)
                for example in examples:
                    log(f"{username}: {example}")
    finally:
        shutil.rmtree(media_root, ignore_errors=True)
    access_log = (OUT / "server.log").read_text(errors="replace").splitlines()
    fives = sum(1 for line in access_log if re.search(r'HTTP/1\.[01]" 5\d\d ', line))
    log(f"server access log: {fives} responses with a 5xx status")
    server_errors = totals["not_a_server_error"]
    violations = totals["response_schema_conformance"]
    print(f"RESULT fuzz cases={total_cases} server_errors={server_errors} schema_violations={violations}", flush=True)
    return 0 if server_errors == 0 and violations == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
