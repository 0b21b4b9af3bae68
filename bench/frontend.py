"""First map view of the demo in headless Chromium: sign in, open /map/, wait until the page says it is ready and
the network is idle (boundary tiles drawn). Cold browser context each time (no HTTP cache).

Needs a running demo server (`make demo`, or gunicorn on another port): BENCH_ARGS="--url http://127.0.0.1:8000".
Baseline: the sign-in page, the lightest page the same server returns.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--user", default="coordinator")
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    password = (ROOT / "var" / "demo-password").read_text().strip()
    from playwright.sync_api import sync_playwright

    first_view, ready, baseline, requests, kilobytes = [], [], [], [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS, headless=True)
        for _ in range(options.repeat):
            # Sign in once, then measure in a fresh context that has the session cookie and an empty HTTP cache.
            signin = browser.new_context()
            page = signin.new_page()
            start = time.perf_counter()
            page.goto(f"{options.url}/login/")
            page.wait_for_selector("#id_username")
            baseline.append(time.perf_counter() - start)
            page.fill("#id_username", options.user)
            page.fill("#id_password", password)
            page.click("button[type=submit]")
            page.wait_for_selector("header.topbar")
            state = signin.storage_state()
            signin.close()
            context = browser.new_context(viewport={"width": 1366, "height": 850}, storage_state=state)
            page = context.new_page()
            seen: list[tuple[float, int]] = []
            start = time.perf_counter()
            page.on(
                "requestfinished",
                lambda r, seen=seen, start=start: seen.append(
                    (time.perf_counter() - start, int(r.response().headers.get("content-length") or 0))
                ),
            )
            page.goto(f"{options.url}/map/")
            page.wait_for_selector("body[data-ready=true]", timeout=60_000)
            ready.append(int(page.get_attribute("body", "data-ready-ms")) / 1000)  # the page's own clock
            page.wait_for_load_state("networkidle")
            first_view.append(max(at for at, _ in seen))  # the last request (tile or data) finished
            requests.append(len(seen))
            kilobytes.append(sum(size for _, size in seen) / 1024)
            context.close()
        browser.close()
    print(f"server {options.url}, user {options.user}, {options.repeat} cold loads")
    print(f"sign-in page: median {statistics.median(baseline):.2f} s")
    print(f"map ready (areas drawn, panels filled): median {statistics.median(ready):.2f} s")
    print(f"first map view complete: median {statistics.median(first_view):.2f} s, max {max(first_view):.2f} s, "
          f"{statistics.median(requests):.0f} requests, {statistics.median(kilobytes):.0f} kB")  # fmt: skip
    print(
        f"RESULT frontend first_view_median_s={statistics.median(first_view):.2f} "
        f"first_view_max_s={max(first_view):.2f} ready_median_s={statistics.median(ready):.2f} "
        f"signin_median_s={statistics.median(baseline):.2f}"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
