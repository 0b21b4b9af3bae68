"""The real counterparty for payment tests: mock-bank (PyPI `mock-bank` 0.9.0, MIT) run as a subprocess on loopback.

    def test_something(mock_bank):
        mock_bank.debtor(balance=Decimal("100000.00"))            # the programme account, BDT
        mock_bank.creditor("BEN-CLOSED", "2000000002", behaviour="closed-account")
        ... submit a pain.001 through HttpApiConnector(mock_bank.config()) ...
        mock_bank.advance(days=3)
        mock_bank.mailbox(kind="pain.002")

Each test gets its own bank: a fresh SQLite file in the test's tmp dir, bank time fixed at CLOCK (a Thursday, before
the 15:00 cutoff, so a payment requested for that day settles that day), a drop folder and a pickup folder. Only the
venv is needed: no network, no Docker.

Accounts in mock-bank need an IBAN even when a file names them otherwise; ours get synthetic `BD` IBANs with valid
check digits (Bangladesh has no IBAN; the mock checks only form and checksum). Files name accounts as our product
does, by account number (`Othr/Id`), and a creditor at this bank by its routing number ROUTING in
`CdtrAgt/FinInstnId/ClrSysMmbId/MmbId`: mock-bank finds its own accounts that way. A creditor at any other routing
number is "another bank" and simply settles. Behaviours: `closed-account` (AC04) and `bad-bank-id` (RC01) are read
from the creditor; `insufficient-funds` (AM04 once the balance would go below zero), `return-later` (a pacs.004
`days` business days after settlement), `reject-file` (RJCT FF01 for the whole file) and `silent` from the debtor.
The four EUR accounts mock-bank seeds are closed at start, so that they add no statements to the mailbox.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import urllib3

from programs.payments.connectors import ConnectorConfig

CLOCK = "2026-10-01T09:00"
ROUTING = "999999992"  # mock-bank's own routing number
DEBTOR_ID = "SPMIS-PROG"
DEBTOR_ACCOUNT = "1000000001"
SEEDED = ("ACME", "GLOBEX", "EURODIS")  # INITECH is seeded closed


def iban(country: str, bban: str) -> str:
    """An IBAN with correct check digits (ISO 13616 mod 97) for a made-up BBAN."""
    number = int("".join(str(int(char, 36)) for char in bban + country + "00"))
    return f"{country}{98 - number % 97:02d}{bban}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class MockBank:
    def __init__(self, workdir: Path, *, auth: str = "", extra_args: tuple[str, ...] = ()) -> None:
        self.workdir = workdir
        self.db = workdir / "bank.sqlite"
        self.drop_dir = workdir / "drop"
        self.pickup_dir = workdir / "pickup"
        self.drop_dir.mkdir(parents=True, exist_ok=True)
        self.pickup_dir.mkdir(parents=True, exist_ok=True)
        self.auth = auth
        self.extra_args = extra_args
        self.process: subprocess.Popen | None = None
        self.port = 0
        self.http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=2, read=20), retries=False)
        self.headers = urllib3.make_headers(basic_auth=auth) if auth else {}

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- process --------------------------------------------------------------------------------------------------

    def start(self) -> MockBank:
        last_error = ""
        for _attempt in range(3):  # the free port can be taken between probing and binding
            self.port = free_port()
            args = [sys.executable, "-m", "mockbank", "--port", str(self.port), "--clock", CLOCK]
            args += ["--db", str(self.db), "--quiet", "--drop-dir", str(self.drop_dir)]
            args += ["--pickup-dir", str(self.pickup_dir), "--drop-settle-ms", "0", "--drop-interval-ms", "3600000"]
            if self.auth:
                args += ["--auth", self.auth]
            args += list(self.extra_args)
            self.process = subprocess.Popen(
                args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=self.workdir, text=True
            )
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    last_error = self.process.stderr.read()
                    break
                with contextlib.suppress(urllib3.exceptions.HTTPError, OSError):
                    response = self.http.request(
                        "GET", self.base_url + "/_mock/health", headers=self.headers, timeout=0.5
                    )
                    if response.status == 200:
                        for account in SEEDED:
                            self.patch_account(account, closed=True)
                        return self
                time.sleep(0.05)
            else:
                self.stop()
                raise RuntimeError("mock-bank did not answer /_mock/health within 15 s")
        raise RuntimeError(f"mock-bank would not start: {last_error.strip()[-500:]}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        if self.process.stderr:
            self.process.stderr.close()

    # -- HTTP -----------------------------------------------------------------------------------------------------

    def request(self, method: str, path: str, *, body: Any = None, raw: bytes | None = None) -> tuple[int, Any]:
        headers = dict(self.headers)
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        response = self.http.request(method, self.base_url + path, body=data, headers=headers)
        text = response.data.decode("utf-8")
        try:
            return response.status, json.loads(text) if text.strip() else None
        except ValueError:
            return response.status, text

    def _ok(self, method: str, path: str, body: Any = None) -> Any:
        status, answer = self.request(method, path, body=body)
        if status >= 400:
            raise AssertionError(f"mock-bank {method} {path}: HTTP {status} {answer}")
        return answer

    # -- accounts -------------------------------------------------------------------------------------------------

    def create_account(
        self,
        account_id: str,
        account_number: str,
        *,
        currency: str = "BDT",
        balance: Decimal = Decimal("0"),
        behaviour: str = "accept",
        parameters: dict | None = None,
        name: str = "",
        closed: bool = False,
        account_iban: str = "",
    ) -> dict:
        return self._ok(
            "POST",
            "/_mock/accounts",
            {
                "id": account_id,
                "name": name or account_id,
                "iban": account_iban or iban("BD", "MOCK" + account_number),
                "account_number": account_number,
                "currency": currency,
                "balance": int(balance * 100),  # minor units
                "behaviour": behaviour,
                "parameters": parameters or {},
                "closed": closed,
            },
        )

    def debtor(self, *, balance: Decimal = Decimal("1000000.00"), behaviour: str = "accept", **fields) -> dict:
        """The programme's account, in BDT, that every test file pays from."""
        return self.create_account(
            DEBTOR_ID, DEBTOR_ACCOUNT, balance=balance, behaviour=behaviour, name="SPMIS programme", **fields
        )

    def creditor(self, account_id: str, account_number: str, *, behaviour: str = "accept", **fields) -> dict:
        """A beneficiary's account at this bank (name it in a file with routing ROUTING)."""
        return self.create_account(account_id, account_number, behaviour=behaviour, **fields)

    def patch_account(self, account_id: str, **fields) -> dict:
        if "balance" in fields and isinstance(fields["balance"], Decimal):
            fields["balance"] = int(fields["balance"] * 100)
        return self._ok("PATCH", f"/_mock/accounts/{account_id}", fields)

    def account(self, account_id: str) -> dict:
        return self._ok("GET", f"/_mock/accounts/{account_id}")

    # -- time, messages, payments ---------------------------------------------------------------------------------

    def advance(self, *, days: int | None = None, to: str | None = None) -> dict:
        query = f"days={days}" if days is not None else f"to={to}"
        return self._ok("POST", f"/_mock/advance?{query}")

    def mailbox(self, kind: str = "", *, leave: bool = True) -> list[dict]:
        query = "&".join(part for part in ("leave" if leave else "", f"type={kind}" if kind else "") if part)
        return self._ok("GET", "/_mock/mailbox" + (f"?{query}" if query else ""))

    def messages(self, kind: str = "") -> list[dict]:
        """Every message released, collected or not."""
        return self._ok("GET", "/_mock/messages" + (f"?type={kind}" if kind else ""))

    def payment(self, end_to_end_id: str) -> dict:
        return self._ok("GET", f"/_mock/payments/{end_to_end_id}")

    def file_posts(self) -> int:
        """How many times a payment file was POSTed (the request log): proves nothing was sent twice."""
        rows = self._ok("GET", "/_mock/requests?path=/payments")
        return sum(1 for row in rows if row["method"] == "POST" and row["path"] == "/payments")

    def scan_drop(self) -> dict:
        return self._ok("POST", "/_mock/drop/scan")

    def config(self, **overrides) -> ConnectorConfig:
        """Connector settings for this bank: the HTTP API by default; transport="sftp" for its drop folders."""
        values: dict[str, Any] = {"transport": "api", "base_url": self.base_url, "timeout_seconds": 10.0}
        if self.auth:
            user, _, password = self.auth.partition(":")
            values.update(username=user, password=password)
        if overrides.get("transport") in ("sftp", "https"):
            values.update(base_url="", outbox_dir=str(self.drop_dir), inbox_dir=str(self.pickup_dir))
        values.update(overrides)
        return ConnectorConfig.from_dict(values)
