"""The logistics officer in a real browser. The redemption screen of a distribution point: the device registers its
own Ed25519 key; the camera (Chromium's fake camera playing a QR code) reads a voucher, the screen checks it and
hands it out; with the connection cut, the screen still opens (service worker) and records a typed voucher on the
device; when the connection is back the signed batch is sent, applied once, and a voucher already redeemed comes
back as a conflict to follow up. Every figure is checked against the API."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import segno
from django.test import Client

from distribution.models import DistributionPlan
from distribution.redemption import vouchers
from distribution.redemption.models import Redemption, RedemptionConflict
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, screenshot
from tests.distribution import factories_redemption as rf
from tests.distribution.test_plans_api import flooded_grid  # noqa: F401  (h3's road grid split by a flood)
from tests.factories import AreaFactory, UserFactory, square

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's
D = "/api/v1/distribution"


def qr_video(text: str, path: Path, *, width: int = 640, height: int = 480, frames: int = 20) -> Path:
    """A Y4M clip (what Chromium's fake camera plays) of a QR code of `text`, black on white, centred."""
    matrix = np.array(list(segno.make(text, error="m").matrix), dtype=bool)
    scale = max(1, min(width, height) * 3 // 4 // (matrix.shape[0] + 8))
    modules = np.kron(matrix, np.ones((scale, scale), dtype=bool))
    luma = np.full((height, width), 235, dtype=np.uint8)
    top, left = (height - modules.shape[0]) // 2, (width - modules.shape[1]) // 2
    luma[top : top + modules.shape[0], left : left + modules.shape[1]][modules] = 16
    chroma = np.full((height // 2, width // 2), 128, dtype=np.uint8).tobytes()
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + luma.tobytes() + chroma + chroma)
    return path


@pytest.fixture
def world():
    """A point, an officer who runs it, and three approved cash entitlements of households with ID cards."""
    AreaFactory(code="BD-W", name="Western district", geom=square(90.0, 23.0, 1.0))
    officer = UserFactory(roles=["logistics_officer"])
    officer.save()
    point = rf.point("DP-BRW", name="Bhairab school")
    cycle = rf.approved_cycle()
    households = [rf.household_with_id() for _ in range(3)]
    entitlements = [rf.entitlement(cycle=cycle, household=household, kind="cash") for household, _ in households]
    numbers = [number for _, number in households]
    return {"officer": officer, "point": point, "entitlements": entitlements, "id_numbers": numbers}


@pytest.fixture
def camera_page(live_server, tmp_path):
    """camera_page(user, qr_text) -> a signed-in page whose camera shows a QR code of qr_text."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed")
    with playwright_api.sync_playwright() as playwright:
        opened = []

        def make(user, text: str):
            video = qr_video(text, tmp_path / "qr.y4m")
            args = [
                *CHROMIUM_ARGS,
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-video-capture={video}",
            ]
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
            context = browser.new_context(viewport={"width": 1200, "height": 900})
            context.grant_permissions(["camera"], origin=live_server.url)
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.errors = []
            page.on("pageerror", lambda error: page.errors.append(str(error)))
            page.goto(f"{live_server.url}/login/")
            page.fill("#id_username", user.username)
            page.fill("#id_password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_selector("header.topbar")
            opened.append(browser)
            return page

        yield make
        for browser in opened:
            browser.close()


@pytest.fixture
def sign_in_user(browser, live_server):
    """sign_in_user(user) -> a Playwright page signed in as that factory user, with script errors collected."""
    pages = []

    def make(user):
        user.save()  # the factory sets the password in memory only
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("header.topbar")
        pages.append(page)
        return page

    yield make
    for page in pages:
        page.context.close()


def api_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_redemption_by_camera_then_offline_then_sync(world, camera_page, live_server):
    officer, point, (first, second, third) = world["officer"], world["point"], world["entitlements"]
    voucher = vouchers.sign(first.code)
    page = camera_page(officer, voucher)
    page.goto(f"{live_server.url}/distribution/points/{point.pk}/redeem/")
    page.wait_for_selector("body[data-ready=true]")
    assert page.inner_text("#point-name") == "Bhairab school"

    # The device makes its key pair; the server keeps the public half.
    page.fill("#device-name", "Tablet 1")
    page.click("#device-form button[type=submit]")
    page.wait_for_selector("#device-status[data-device]:not([data-device=''])")
    key_id = page.get_attribute("#device-status", "data-device")
    devices = api_client(officer).get(f"{D}/redemption-devices/?point={point.pk}").json()
    assert [d["key_id"] for d in devices["results"]] == [key_id]

    # The camera reads the voucher; the screen shows what remains and hands it out.
    page.click("#scan-start")
    page.wait_for_selector("body[data-scanned]")
    assert page.get_attribute("body", "data-scanned") == voucher
    page.wait_for_selector("#voucher-summary[data-redeemable=true]")
    assert first.code in page.inner_text("#voucher-summary")
    assert page.input_value("#voucher-items input[name=cash]") == "3000"
    screenshot(page, "redeem-scanned")
    page.click("#redeem-button")
    page.wait_for_selector("body[data-redeemed='1']")
    redeemed = Redemption.objects.get(entitlement=first)
    assert redeemed.method == "scan" and redeemed.point_id == point.pk
    assert redeemed.code in page.inner_text("#redeem-ok")
    balance = api_client(officer).get(f"{D}/redemptions/lookup/?point={point.pk}&voucher={voucher}").json()
    assert balance["results"][0]["balance"][0]["remaining"] == "0"
    assert balance["results"][0]["redeemable"] is False

    # The same voucher again, online: refused with who, where and when of the first.
    page.fill("#code-input", voucher)
    page.click("#code-form button[type=submit]")
    page.wait_for_selector("#voucher-summary[data-redeemable=false]")
    assert "#redeem-button:disabled" and page.is_disabled("#redeem-button")

    # Offline: the screen opens from the service worker's copy and records on the device.
    page.wait_for_selector("body[data-offline-ready=true]")
    page.context.set_offline(True)
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    assert page.get_attribute("#connection", "data-online") == "false"
    for text in (vouchers.sign(second.code), voucher):  # a new one, and one already redeemed online
        page.fill("#code-input", text)
        page.click("#code-form button[type=submit]")
        page.wait_for_selector("#voucher:not([hidden])")
        page.click("#redeem-button")
        page.wait_for_selector("#voucher[hidden]", state="attached")
    page.wait_for_selector("#pending-count[data-pending='2']")
    screenshot(page, "redeem-offline")
    assert Redemption.objects.filter(entitlement=second).count() == 0  # nothing reached the server

    # Back online: one signed batch; the new voucher is redeemed once, the old one is a conflict to follow up.
    page.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_selector("#connection[data-online=true]")
    page.click("#sync-button")  # the screen also sends on its own when the connection is back; don't wait for it
    page.wait_for_selector("body[data-synced]")
    page.wait_for_selector("#pending-count[data-pending='0']", state="attached")
    offline_row = Redemption.objects.get(entitlement=second)
    assert offline_row.method == "offline" and offline_row.device.key_id == key_id
    conflict = RedemptionConflict.objects.get(point=point)
    assert conflict.reason == "already_redeemed" and conflict.first_redemption_id == redeemed.pk
    assert Redemption.objects.filter(entitlement=first).count() == 1  # never handed out twice
    statuses = page.eval_on_selector_all("#log-rows tr", "rows => rows.map(r => r.dataset.status).sort()")
    assert statuses == ["conflict", "redeemed", "redeemed"]
    assert "1 accepted, 1 to follow up" in page.inner_text("#redeem-ok")
    conflicts = api_client(officer).get(f"{D}/redemption-conflicts/?point={point.pk}").json()
    assert conflicts["count"] == 1

    # No card: the registry search by a member's ID number, and a partial hand-out of the cash.
    page.fill("#id-input", world["id_numbers"][2])
    page.click("#id-form button[type=submit]")
    page.wait_for_selector("#voucher-summary[data-redeemable=true]")
    assert third.code in page.inner_text("#voucher-summary")
    page.fill("#voucher-items input[name=cash]", "1000")
    page.click("#redeem-button")
    page.wait_for_selector("body[data-redeemed='1']")  # the first hand-out since the reload
    searched = Redemption.objects.get(entitlement=third)
    assert searched.method == "search" and [str(line.quantity) for line in searched.lines.all()] == ["1000.000"]
    found = api_client(officer).get(f"{D}/redemptions/lookup/?point={point.pk}&code={third.code}").json()
    assert found["results"][0]["balance"][0]["remaining"] == "2000"

    # Sending again adds nothing (the same client_uuids are duplicates on the server).
    page.click("#sync-button")
    assert Redemption.objects.filter(entitlement__in=[first, second, third]).count() == 3
    assert not page.errors, page.errors


def test_a_plan_made_on_the_page_shows_its_points_shortfalls_and_unreachable_households(
    flooded_grid,  # noqa: F811
    sign_in_user,
    live_server,
):
    g = flooded_grid
    officer = g["officer"].user
    page = sign_in_user(officer)
    page.goto(f"{live_server.url}/distribution/plans/")
    page.wait_for_selector("body[data-ready=true]")
    assert page.inner_text("#plan-cycle option:checked").endswith(g["cycle"].name)
    page.fill("#plan-days", "1")
    page.click("#plan-button")
    page.wait_for_selector("#plan-link")
    plan = DistributionPlan.objects.get()
    assert plan.status == "succeeded" and plan.cycle_id == g["cycle"].pk
    page.click("#plan-link")
    page.wait_for_selector("body[data-ready=true]")
    screenshot(page, "plan-map")
    assert not page.inner_text("#plan-error")

    api = api_client(officer)
    url = f"{D}/plans/{plan.pk}"
    assert page.get_attribute("#plan-served", "data-value") == str(plan.result["assigned"]) == "5"
    assert page.get_attribute("#plan-unreachable", "data-value") == str(plan.result["unreachable"]) == "4"
    points = {row["point"]: row for row in api.get(f"{url}/points/").json()["results"]}
    shown = page.eval_on_selector_all(
        "#point-rows tr",
        "rows => rows.map(r => [Number(r.dataset.point), r.dataset.usable, r.cells[1].dataset.households])",
    )
    assert {pk: (usable, int(n)) for pk, usable, n in shown} == {
        pk: (str(row["usable"]).lower(), row["households"]) for pk, row in points.items()
    }
    assert "inside hazard zone" in page.inner_text(f"#point-rows tr[data-point='{g['points']['C'].pk}']")
    summary = api.get(f"{url}/unreachable/", {"summary": "1"}).json()
    counts = page.eval_on_selector_all(
        "#unreachable-rows tr", "rows => rows.map(r => Number(r.cells[1].dataset.households))"
    )
    assert sorted(counts) == sorted(row["households"] for row in summary) and sum(counts) == 4
    assert "full" in page.inner_text("#unreachable-rows")
    shortfalls = api.get(f"{url}/shortfalls/").json()["results"]
    assert page.locator("#shortfall-rows tr[data-shortfall]").count() == len(shortfalls)
    # The map: three points, two catchments; without personal data, unreachable households as counts per area.
    drawn = page.evaluate(
        """() => { const m = document.getElementById('map').leafletMap; let markers = 0, shapes = 0;
                   m.eachLayer(l => { if (l instanceof L.CircleMarker) markers++;
                                      else if (l instanceof L.Polygon) shapes++; });
                   return {markers, shapes}; }"""
    )
    features = api.get(f"{url}/map/").json()["features"]
    assert drawn["markers"] == sum(1 for f in features if f["properties"]["layer"] in ("point", "unreachable"))
    assert drawn["shapes"] >= sum(
        1 for f in features if f["properties"]["layer"] == "catchment" and f["geometry"]["type"] == "Polygon"
    )
    assert page.is_visible("#no-household-points")
    assert not page.errors, page.errors


def test_plan_then_receive_and_dispatch_then_redeem_matches_the_api(
    flooded_grid,  # noqa: F811
    sign_in_user,
    live_server,
):
    """The walk of issue 13 on h3's flooded grid (point A west of the flood holds 25 kg of rice; stores on both banks):
    a plan shows what point A is short of; the officer receives the goods at a warehouse
    (goods received note), dispatches them to A (waybill), sees them on the stock page, and hands one household its
    entitlement on A's redemption screen. Stock and counts on every page equal the API's."""
    import datetime

    from django.utils import timezone

    from distribution.stock.models import StockItem
    from programs.models import Entitlement
    from tests.distribution.factories_plans import at
    from tests.factories import WarehouseFactory

    g = flooded_grid
    officer = g["officer"].user
    api = api_client(officer)

    def on_hand(**where) -> dict[str, str]:
        """{item: on hand} at a location, lots added up (the balances API, one row per lot)."""
        from decimal import Decimal

        totals: dict[str, Decimal] = {}
        for row in api.get(f"{D}/stock/balances/", where).json()["results"]:
            totals[row["item"]] = totals.get(row["item"], Decimal(0)) + Decimal(row["on_hand"])
        return {item: f"{value:.3f}" for item, value in totals.items()}

    warehouse = WarehouseFactory(code="WH-WALK", name="Walk depot", location=at(1, 5), capacity_tonnes=50)
    point_a = g["points"]["A"]
    today = timezone.localdate()
    Entitlement.objects.filter(cycle=g["cycle"]).update(
        valid_from=today - datetime.timedelta(days=1), valid_until=today + datetime.timedelta(days=30)
    )

    # 1. The plan: A serves the three western households and holds nothing yet.
    page = sign_in_user(officer)
    page.goto(f"{live_server.url}/distribution/plans/")
    page.wait_for_selector("body[data-ready=true]")
    page.click("#plan-button")
    page.wait_for_selector("#plan-link")
    page.click("#plan-link")
    page.wait_for_selector("body[data-ready=true]")
    plan = DistributionPlan.objects.get()
    short = {
        (row["point_code"], row["item"]): row["shortfall"]
        for row in api.get(f"{D}/plans/{plan.pk}/shortfalls/").json()["results"]
    }
    # A needs 75 kg of rice and 6 l of oil; it holds 25 kg and the west store 30 kg; the east store's oil is across
    # the flood.
    assert short[("A", "rice")] == "20.000" and short[("A", "oil")] == "6.000"
    shown = page.eval_on_selector_all(
        "#shortfall-rows tr[data-shortfall]", "rows => rows.map(r => [r.cells[0].textContent, r.dataset.shortfall])"
    )
    assert sorted(shown) == sorted([point, item] for point, item in short)
    screenshot(page, "walk-plan")

    # 2. A goods received note at the warehouse: 4 bags of rice (100 kg, one short on arrival) and 10 l of oil.
    page.goto(f"{live_server.url}/distribution/movements/")
    page.wait_for_selector("body[data-ready=true]")
    receipt = page.locator("#receipt-form")
    receipt.locator("select[name=warehouse]").select_option(str(warehouse.pk))
    receipt.locator("input[name=supplier]").fill("WFP Chattogram")
    first = receipt.locator("[data-lines] tr").nth(0)
    first.locator("select[name=item]").select_option("rice")
    first.locator("input[name=unit]").fill("bag")
    first.locator("input[name=quantity]").fill("4")
    first.locator("input[name=lot]").fill("R-2026-11")
    first.locator("input[name=expires_on]").fill("2027-10-31")
    first.locator("input[name=shortage]").fill("1")
    receipt.locator("[data-add-line]").click()
    second = receipt.locator("[data-lines] tr").nth(1)
    second.locator("select[name=item]").select_option("oil")
    second.locator("input[name=quantity]").fill("10")
    receipt.locator("button[type=submit]").click()
    page.wait_for_selector("#receipt-form a[data-pdf=receipt]")
    grn = page.get_attribute("#receipt-form a[data-pdf=receipt]", "href")
    pdf = api.get(grn)
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content[:4] == b"%PDF"

    # Re-planned with the stock in the warehouse: transport lines from it, and routes for a truck around the flood.
    truck = api.post(
        f"{D}/vehicles/",
        {"code": "T1", "name": "Truck 1", "capacity_kg": 5000, "depot": warehouse.pk},
        content_type="application/json",
    )
    assert truck.status_code == 201, truck.content
    page.goto(f"{live_server.url}/distribution/plans/")
    page.wait_for_selector("body[data-ready=true]")
    page.click("#plan-button")
    page.wait_for_selector("#plan-link")
    page.click("#plan-link")
    page.wait_for_selector("body[data-ready=true]")
    replan = DistributionPlan.objects.order_by("-id").first()
    transport = api.get(f"{D}/plans/{replan.pk}/transport/").json()["results"]
    assert transport and page.locator("#transport-rows tr").count() == len(transport)
    page.click("#routes-card summary")
    page.click("#route-button")
    page.wait_for_selector("#map[data-routes]")
    run_id = page.get_attribute("#route-result a[data-sheet]", "data-sheet")
    routes = api.get(f"{D}/route-runs/{run_id}/geojson/").json()
    assert page.get_attribute("#map", "data-routes") == str(len(routes["features"])) != "0"
    sheet = api.get(f"{D}/route-runs/{run_id}/sheet/")
    assert sheet.status_code == 200 and sheet.content[:4] == b"%PDF"
    screenshot(page, "walk-routes")

    # A dispatch beyond the stock is refused in words and writes nothing.
    page.goto(f"{live_server.url}/distribution/movements/")
    page.wait_for_selector("body[data-ready=true]")
    dispatch = page.locator("#dispatch-form")
    dispatch.locator("select[name=warehouse]").select_option(str(warehouse.pk))
    dispatch.locator("select[name=point]").select_option(str(point_a.pk))
    line = dispatch.locator("[data-lines] tr").nth(0)
    line.locator("select[name=item]").select_option("rice")
    line.locator("input[name=quantity]").fill("500")
    dispatch.locator("button[type=submit]").click()
    page.wait_for_selector("#dispatch-form [data-error]:not(:empty)")
    assert "rice" in page.inner_text("#dispatch-form [data-error]").lower()
    assert on_hand(point=point_a.pk) == {"rice": "25.000"}

    # 3. The dispatch A needs: 3 bags of rice and 6 l of oil, on a waybill.
    line.locator("input[name=unit]").fill("bag")
    line.locator("input[name=quantity]").fill("3")
    dispatch.locator("[data-add-line]").click()
    oil = dispatch.locator("[data-lines] tr").nth(1)
    oil.locator("select[name=item]").select_option("oil")
    oil.locator("input[name=quantity]").fill("6")
    dispatch.locator("input[name=vehicle]").fill("Truck DHA-11-2233")
    dispatch.locator("button[type=submit]").click()
    page.wait_for_selector("#dispatch-form a[data-pdf=dispatch]")
    waybill = api.get(page.get_attribute("#dispatch-form a[data-pdf=dispatch]", "href"))
    assert waybill.status_code == 200 and waybill.content[:4] == b"%PDF"
    screenshot(page, "walk-dispatch")

    assert on_hand(point=point_a.pk) == {"rice": "100.000", "oil": "6.000"}
    assert on_hand(warehouse=warehouse.pk) == {"oil": "4.000"}  # 1 bag short on arrival: 75 kg came, 75 left

    # 4. The stock page shows the same, per lot with its expiry.
    page.goto(f"{live_server.url}/distribution/")
    page.wait_for_selector("body[data-ready=true]")
    page.select_option("#stock-location", f"point:{point_a.pk}")
    page.wait_for_selector(f"#stock-rows[data-shown='point:{point_a.pk}']")
    rows = page.eval_on_selector_all(
        "#stock-rows tr[data-item]", "rows => rows.map(r => [r.dataset.item, r.dataset.lot, r.cells[4].dataset.onHand])"
    )
    listed = api.get(f"{D}/stock/balances/", {"point": point_a.pk}).json()["results"]
    assert sorted(rows) == sorted([row["item"], row["lot"] or "", row["on_hand"]] for row in listed)
    assert ["rice", "R-2026-11", "75.000"] in rows
    assert "2027-10-31" in page.inner_text("#stock-rows tr[data-item=rice][data-lot=R-2026-11]")

    # 5. The redemption screen at A: one western household collects its entitlement; the stock leaves A.
    entitlement = Entitlement.objects.get(cycle=g["cycle"], household=g["west"][0])
    page.goto(f"{live_server.url}/distribution/points/{point_a.pk}/redeem/")
    page.wait_for_selector("body[data-ready=true]")
    page.fill("#device-name", "Tablet A")
    page.click("#device-form button[type=submit]")
    page.wait_for_selector("#device-status[data-device]:not([data-device=''])")
    page.fill("#code-input", vouchers.sign(entitlement.code))
    page.click("#code-form button[type=submit]")
    page.wait_for_selector("#voucher-summary[data-redeemable=true]")
    assert page.input_value("#voucher-items input[name=rice]") == "25"
    page.click("#redeem-button")
    page.wait_for_selector("body[data-redeemed='1']")
    screenshot(page, "walk-redeem")
    assert on_hand(point=point_a.pk) == {"rice": "75.000", "oil": "4.000"}
    redemptions = api.get(f"{D}/redemptions/?point={point_a.pk}").json()
    assert redemptions["count"] == 1 and redemptions["results"][0]["entitlement_code"] == entitlement.code
    assert StockItem.objects.filter(code__in=["rice", "oil"]).count() == 2
    assert not page.errors, page.errors
