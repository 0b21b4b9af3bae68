"""Page views: they gather what a page needs to start (through selectors) and leave the rest to the JSON APIs."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.formats import number_format
from django.utils.translation import gettext, gettext_lazy

from distribution import selectors as distribution_selectors
from distribution.models import DistributionPoint
from geo.models import Area
from geo.selectors import scope_queryset, user_area_ids
from programs.models import Cycle, Program
from programs.selectors import cycle_list
from registry.models import Household
from response import selectors as response_selectors
from response.models import ExposureRun, Incident
from spmis.api.throttling import TOO_MANY_LOGINS, LoginRateThrottle
from spmis.country import country


def _shell(request: HttpRequest, *, incident: Incident | None = None) -> dict:
    """What the top bar shows on every page: incidents to switch to, role names and the area scope."""
    user = request.user
    ids = user_area_ids(user)
    scope = list(Area.objects.filter(id__in=ids).order_by("name").values_list("name", flat=True)) if ids else []
    incidents = []
    if user.has_perm("response.view_incident"):
        incidents = list(response_selectors.incident_list(user=user).order_by("-started_on", "-id")[:200])
    return {
        "incidents": incidents,
        "current_incident": incident,
        "roles": sorted(user.groups.values_list("name", flat=True)) or (["Administrator"] if user.is_superuser else []),
        "scope": scope,
        # A scope without areas sees nothing: say so rather than "All areas".
        "no_areas": ids == [],
    }


def _requires(permission: str, reason: str) -> Callable:
    """Like permission_required(raise_exception=True), but the refusal says in words what the page needs, and the
    403 page shows it under the top bar."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.has_perm(permission):
                raise PermissionDenied(reason)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


NEEDS_INCIDENTS = gettext_lazy("This page shows incidents, and your role may not see them.")
NEEDS_RESULTS = gettext_lazy(
    "The affected list names households, and your role may only see counts: the dashboard shows them."
)
NEEDS_LAYERS = gettext_lazy("This page lists map layers, and your role may not see them.")


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or request.path.endswith(".json")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """403 for pages: the top bar stays, and the page says why (the reason the refusing view gave)."""
    reason = str(exception or "") or gettext("Your role may not open this page.")
    if _wants_json(request):
        return JsonResponse({"detail": reason}, status=403)
    return _error_page(request, "frontend/403.html", reason, 403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """404 for pages: the top bar stays, and the page says what was not found when the view said so."""
    # A view's Http404 carries a sentence; the URL resolver's carries a dict of patterns tried, for developers only.
    message = exception.args[0] if isinstance(exception, Http404) and exception.args else None
    reason = message if isinstance(message, str) and message else gettext("There is no page at this address.")
    if _wants_json(request):
        return JsonResponse({"detail": reason}, status=404)
    return _error_page(request, "frontend/404.html", reason, 404)


def _error_page(request: HttpRequest, template: str, reason: str, status: int) -> HttpResponse:
    context = _shell(request) if request.user.is_authenticated else {}
    context["reason"] = reason
    return render(request, template, context, status=status)


def _scope_bounds(user) -> list[list[float]] | None:
    """[[south, west], [north, east]] of a scoped user's areas; None for national users, whose maps start on the
    configured country extent (never on the extent of the level-0 areas, which one bad import can move)."""
    from django.contrib.gis.db.models import Extent

    ids = user_area_ids(user)
    if not ids:
        return None
    extent = Area.objects.filter(id__in=ids).aggregate(box=Extent("geom"))["box"]
    if extent is None:
        return None
    return [[extent[1], extent[0]], [extent[3], extent[2]]]


def _incident_or_404(request: HttpRequest, incident_id: int | None) -> Incident | None:
    if incident_id is None:
        return None
    incident = response_selectors.incident_list(user=request.user).filter(pk=incident_id).first()
    if incident is None:
        raise Http404("No such incident in your areas.")
    return incident


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


class LoginView(auth_views.LoginView):
    """The sign-in page; posting to it counts against the same per-address-and-name limit as the API token
    endpoint, and the password is not even checked once the limit is reached."""

    template_name = "frontend/login.html"

    def post(self, request, *args, **kwargs) -> HttpResponse:
        throttle = LoginRateThrottle()
        if not throttle.allow_request(request, self):
            context = self.get_context_data(form=self.form_class(request), throttled=TOO_MANY_LOGINS)
            response = self.render_to_response(context, status=429)
            response["Retry-After"] = str(int(throttle.wait() or 60))
            return response
        return super().post(request, *args, **kwargs)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    if request.user.has_perm("response.view_incident"):
        return redirect("map")
    if request.user.has_perm("layers.add_layerimport"):
        return redirect("analyst")
    return render(request, "frontend/home.html", _shell(request))


@login_required
@_requires("response.view_incident", NEEDS_INCIDENTS)
def map_page(request: HttpRequest) -> HttpResponse:
    incident = _incident_or_404(request, _int(request.GET.get("incident")))
    context = _shell(request, incident=incident)
    context["hazard_types"] = Incident._meta.get_field("hazard_type").choices
    user = request.user
    level_name = country().level_name(country().chart_level).lower()
    context["page_config"] = {
        "incident": incident.pk if incident else None,
        "hazardType": incident.hazard_type if incident else None,
        "bounds": _scope_bounds(user),
        "can": {
            "households": user.has_perm("registry.view_household"),
            # Points are exact locations: without personal data the map shades districts by count only.
            "householdPoints": user.has_perms(["registry.view_household", "registry.view_personal_data"]),
            "results": user.has_perm("response.view_exposureresult"),
            "editZones": user.has_perm("response.change_hazardzone"),
            "addZones": user.has_perm("response.add_hazardzone"),
        },
        "text": {
            "affected": gettext("Affected households"),
            "approximate": gettext("approximate"),
            "people": gettext("people"),
            "peopleHeader": gettext("People"),
            "class": gettext("Class"),
            "area": gettext("Area"),
            "households": gettext("Households"),
            "newly": gettext("Newly affected"),
            "noLonger": gettext("No longer affected"),
            "changed": gettext("Class changed"),
            "delete": gettext("Delete"),
            "noRuns": gettext("No analysis yet."),
            "failed": gettext("The analysis failed:"),
            "list": gettext("Affected list"),
            "report": gettext("Situation report"),
            "dashboard": gettext("Dashboard"),
            "needs": gettext("Needs (displaced basis)"),
            "areas": gettext("Admin areas"),
            "householdsLayer": gettext("Households"),
            "density": gettext("Households per %(level)s (zoom in for points)") % {"level": level_name},
            "zones": gettext("Hazard zones"),
            "zone": gettext("Zone"),
            "choropleth": gettext("Affected by %(level)s") % {"level": level_name},
            "noMatch": gettext("No area matches."),
            "opacity": gettext("Opacity"),
            "noLayers": gettext("No uploaded layers."),
            "saved": gettext("Saved."),
            "noAlerts": gettext("No open alerts."),
            "pendingZone": gettext("Zone not saved yet"),
            "newZone": gettext("New zone"),
            "notSaved": gettext("not saved yet"),
            "holes": gettext("Holes"),
            "cutHole": gettext("Cut a hole"),
            "stopCutting": gettext("Stop cutting"),
            "cutHint": gettext("Click the corners of the hole inside the zone; click the first corner to finish."),
            "saveZone": gettext("Save zone"),
            "discard": gettext("Discard"),
            "holeOutside": gettext("Hole refused: it must lie entirely inside the zone, without touching its edge."),
            "holeOverlaps": gettext("Hole refused: it crosses, touches or contains another hole."),
            "withheld": gettext("– withheld (fewer than %(k)s); ≥ n: at least n, some cells withheld."),
        },
    }
    if incident and user.has_perm("programs.add_cycle"):
        context["topup_text"] = {
            **{key: value for key, value in _program_text().items() if key in TOPUP_KEYS},
            "noRun": gettext("Choose a finished analysis first."),
            "newProgram": gettext("— a new one —"),
            "choose": gettext("— choose —"),
            "amountFor": gettext("Amount for %(name)s"),
        }
    return render(request, "frontend/map.html", context)


TOPUP_KEYS = {"households", "people", "amount", "vertical", "horizontal", "total", "created", "chooseTarget", "open"}


@login_required
@_requires("response.view_incident", NEEDS_INCIDENTS)
def dashboard(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = _incident_or_404(request, incident_id)
    runs = list(
        response_selectors.exposure_run_list(user=request.user, incident_id=incident.pk)
        .filter(status=ExposureRun.Status.SUCCEEDED)
        .order_by("-id")
    )
    run = next((r for r in runs if r.pk == _int(request.GET.get("run"))), runs[0] if runs else None)
    context = _shell(request, incident=incident)
    context.update({"runs": runs, "run": run})
    if run is not None:
        k = None if request.user.has_perm("response.view_exposureresult") else response_selectors.DEFAULT_K
        level = country().chart_level
        rows = response_selectors.exposure_aggregates(run=run, user=request.user, level=level, k=k)
        context.update(_dashboard_figures(rows))
        context.update({"k": k, "chart_level": level, "chart_level_name": country().level_name(level)})
    return render(request, "frontend/dashboard.html", context)


def _shown(figure: dict, key: str) -> str:
    """A count as the page prints it: grouped digits; "–" when withheld (k-anonymity) and nothing else is known;
    "≥ n" when some of the cells it sums were withheld."""
    value = figure[key]
    if key not in figure["withheld"]:
        return number_format(value, force_grouping=True)
    return "–" if not value else f"≥ {number_format(value, force_grouping=True)}"


def _dashboard_figures(rows: list) -> dict:
    """Totals, per-class and per-area sums shaped for the templates' bar charts (widths in percent). The sums are the
    selectors' aggregate_summary, the same ones the map panel shows."""
    summary = response_selectors.aggregate_summary(rows)
    totals = summary["totals"]
    demographic_keys = response_selectors.COUNT_COLUMNS[2:]  # individuals, then the groups the aggregates count
    classes = summary["by_class"]
    areas = summary["by_area"]
    top = max([c["households"] for c in classes] + [1])
    for item in classes:
        item.update(name=item["class_name"], width=round(100 * item["households"] / top, 1))
        item["shown"] = _shown(item, "households")
    top_area = max([a["households"] for a in areas] + [1])
    for item in areas:
        item.update(name=item["area_name"], width=round(100 * item["households"] / top_area, 1))
        item["shown"] = _shown(item, "households")
    people = max(totals["individuals"], 1)
    demographics = [
        {"key": key, "value": totals[key], "shown": _shown(totals, key), "width": round(100 * totals[key] / people, 1)}
        for key in demographic_keys
    ]
    return {
        "totals": totals,
        "shown": {key: _shown(totals, key) for key in response_selectors.COUNT_COLUMNS},
        "withheld": bool(totals["withheld"]),
        "by_class": classes,
        "by_area": areas[:25],  # the chart shows the 25 hardest hit; the count below covers all
        # An area whose every cell is withheld may or may not hold affected households: it is not counted.
        "areas_affected": sum(1 for area in areas if area["households"]),
        "demographics": demographics,
    }


@login_required
@_requires("layers.view_vectorlayer", NEEDS_LAYERS)
def analyst(request: HttpRequest) -> HttpResponse:
    context = _shell(request)
    context["page_text"] = {
        "uploading": gettext("Uploading"),
        "checking": gettext("Checking and storing"),
        "done": gettext("Stored as layer"),
        "failed": gettext("Refused:"),
        "style": gettext("Style"),
        "delete": gettext("Delete"),
        "saved": gettext("Style saved."),
        "none": gettext("No layers yet."),
        "badBreaks": gettext("Thresholds must be increasing numbers."),
    }
    # What the page offers follows the user's permissions, the same ones the API checks.
    context["page_can"] = {
        "vector": request.user.has_perm("layers.change_vectorlayer"),
        "raster": request.user.has_perm("layers.change_rasterlayer"),
    }
    return render(request, "frontend/analyst.html", context)


@login_required
@permission_required("registry.view_household", raise_exception=True)
def household_density(request: HttpRequest) -> JsonResponse:
    """Located households per area of the chart level (districts in Bangladesh) inside the user's areas: the map
    shades those areas with it at low zoom, where drawing every household point would be slow and unreadable."""
    level = country().chart_level
    counts = (
        scope_queryset(Household.objects.filter(location__isnull=False), request.user)
        .values(f"area__lineage__{level}")
        .annotate(households=Count("id"))
        .order_by()
    )
    by_id = {row[f"area__lineage__{level}"]: row["households"] for row in counts}
    codes = dict(Area.objects.filter(id__in=[pk for pk in by_id if pk]).values_list("id", "code"))
    return JsonResponse({"level": level, "households": {codes[pk]: n for pk, n in by_id.items() if pk in codes}})


AFFECTED_PAGE_SIZE = 100


@login_required
@_requires("response.view_exposureresult", NEEDS_RESULTS)
def affected_list(request: HttpRequest, incident_id: int, run_id: int) -> HttpResponse:
    """The affected households of one analysis, a page at a time, filtered by class, area or approximate."""
    incident = _incident_or_404(request, incident_id)
    run = response_selectors.exposure_run_list(user=request.user, incident_id=incident.pk).filter(pk=run_id).first()
    if run is None:
        raise Http404(gettext("This incident has no such analysis."))
    filters = {
        "hazard_class": request.GET.get("hazard_class") or None,
        "area_code": request.GET.get("area") or None,
        "approximate": {"yes": True, "no": False}.get(request.GET.get("approximate", "")),
    }
    results = response_selectors.exposure_result_list(run=run, user=request.user, **filters).select_related(
        "hazard_class", "area", "household"
    )
    page = Paginator(results, AFFECTED_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = _shell(request, incident=incident)
    context.update(
        {
            "run": run,
            "page": page,
            "filters": filters,
            "classes": response_selectors.hazard_class_list(incident=incident),
            "query": query.urlencode(),
            "export_query": query.urlencode(),
        }
    )
    return render(request, "frontend/affected.html", context)


# ---- Programs: the program officer's pages. Each page starts from its id and the user's permissions; the data comes
# from /api/v1/programs/ in the page's script (static/frontend/programs.js and friends).

NEEDS_PROGRAMS = gettext_lazy("This page shows social protection programs, and your role may not see them.")
NEEDS_CYCLES = gettext_lazy("This page shows a program's payment cycle, and your role may not see cycles.")


def _program_text() -> dict:
    """Words the program pages' scripts print, translated here so that the scripts hold no language."""
    return {
        "loading": gettext("Loading…"),
        "none": gettext("None"),
        "households": gettext("Households"),
        "people": gettext("People"),
        "area": gettext("Area"),
        "class": gettext("Class"),
        "household": gettext("Household"),
        "registrantId": gettext("Registrant ID"),
        "amount": gettext("Amount"),
        "fee": gettext("Fee"),
        "kind": gettext("Kind"),
        "status": gettext("Status"),
        "state": gettext("State"),
        "flagged": gettext("Flagged"),
        "yes": gettext("yes"),
        "no": gettext("no"),
        "items": gettext("Items"),
        "code": gettext("Code"),
        "name": gettext("Name"),
        "enrolled": gettext("Enrolled"),
        "paused": gettext("Paused"),
        "exited": gettext("Exited"),
        "sequence": gettext("No."),
        "period": gettext("Period"),
        "planned": gettext("Planned households"),
        "plannedPeople": gettext("Planned people"),
        "plannedAmount": gettext("Planned amount"),
        "flaggedCount": gettext("Flagged"),
        "open": gettext("Open"),
        "noPrograms": gettext("No programs yet."),
        "noCycles": gettext("No cycles yet."),
        "noEntitlements": gettext("No entitlements: generate them first."),
        "position": gettext("line %(line)s, column %(column)s: %(message)s"),
        "ruleOk": gettext("The rule is valid."),
        "emptyRule": gettext("Write a rule to see who it selects."),
        "matches": gettext("households match"),
        "elapsed": gettext("computed in %(ms)s ms"),
        "sample": gettext("Sample"),
        "why": gettext("Why?"),
        "whyHeader": gettext("Why"),
        "selected": gettext("selected"),
        "notSelected": gettext("not selected"),
        "byArea": gettext("By area"),
        "byClass": gettext("By hazard class"),
        "noClass": gettext("not affected"),
        "saved": gettext("Saved."),
        "enrolling": gettext("Enrolling"),
        "enrolDone": gettext("Enrolment finished:"),
        "failed": gettext("Failed:"),
        "generating": gettext("Generating entitlements"),
        "generated": gettext("Entitlements generated:"),
        "submittedBy": gettext("Submitted by %(user)s on %(when)s"),
        "approvedBy": gettext("Approved by %(user)s on %(when)s"),
        "ownSubmission": gettext("You submitted this cycle: another officer must approve it."),
        "cancelReason": gettext("Why is this cycle cancelled?"),
        "pageOf": gettext("Page %(number)s of %(total)s"),
        "previous": gettext("Previous"),
        "next": gettext("Next"),
        "scenario": gettext("Scenario"),
        "analysis": gettext("Analysis"),
        "rule": gettext("Rule"),
        "formula": gettext("Formula"),
        "budget": gettext("Budget"),
        "target": gettext("Target"),
        "funding": gettext("Funding source"),
        "cost": gettext("Cost"),
        "fees": gettext("Fees"),
        "totalCost": gettext("Cost with fees"),
        "overBudget": gettext("Over budget"),
        "affected": gettext("Affected households"),
        "coveredAffected": gettext("Affected households covered"),
        "coverage": gettext("Coverage of the affected"),
        "exclusion": gettext("Exclusion (affected left out)"),
        "inclusion": gettext("Inclusion (selected, not affected)"),
        "overlap": gettext("Overlap with programs"),
        "noOverlap": gettext("no overlap"),
        "perArea": gettext("Households per area"),
        "promote": gettext("Make this a program"),
        "promoted": gettext("Program created:"),
        "programName": gettext("Program name"),
        "scenarioAdded": gettext("Scenario added"),
        "scenarios": gettext("Scenarios to compare"),
        "remove": gettext("Remove"),
        "atMostFour": gettext("At most four scenarios are compared side by side."),
        "vertical": gettext("Top-up of enrolled members"),
        "horizontal": gettext("New caseload"),
        "total": gettext("Total"),
        "created": gettext("Draft cycles created:"),
        "chooseTarget": gettext("Choose a program for the top-up, or a new caseload, or both."),
        # Program and cycle kinds share their keys where they mean the same (regular, anticipatory).
        "kinds": {value: gettext(label) for value, label in [*Program.Kind.choices, *Cycle.Kind.choices]},
        "cycleStates": {
            "draft": gettext("draft"),
            "to_approve": gettext("to approve"),
            "approved": gettext("approved"),
            "distributed": gettext("distributed"),
            "ended": gettext("ended"),
            "cancelled": gettext("cancelled"),
        },
    }


def _program_page(
    request: HttpRequest, template: str, config: dict, *, payments: bool = False, **extra
) -> HttpResponse:
    user = request.user
    context = _shell(request)
    context["page_config"] = {
        **config,
        "username": user.get_username(),
        "currency": country().currency,
        "can": {
            "addProgram": user.has_perm("programs.add_program"),
            "changeProgram": user.has_perm("programs.change_program"),
            "enrol": user.has_perm("programs.add_enrolmentrun"),
            "viewCycles": user.has_perm("programs.view_cycle"),
            "addCycle": user.has_perm("programs.add_cycle"),
            "changeCycle": user.has_perm("programs.change_cycle"),
            "approveCycle": user.has_perm("programs.approve_cycle"),
            "simulate": user.has_perm("programs.add_simulation"),
            "viewEntitlements": user.has_perm("programs.view_entitlement"),
            # Payments: each action follows the permission the API checks for it.
            "viewBatches": user.has_perm("programs.view_paymentbatch"),
            "prepareBatch": user.has_perms(["programs.add_paymentbatch", "programs.view_financialserviceprovider"]),
            "releaseBatch": user.has_perm("programs.release_paymentbatch"),
            "cancelBatch": user.has_perm("programs.change_paymentbatch"),
            "viewFiles": user.has_perm("programs.view_paymentfile"),
            "downloadFile": user.has_perms(["programs.download_paymentfile", "programs.view_paymentfile"]),
            "uploadReport": user.has_perm("programs.add_paymentreport"),
            "viewPayments": user.has_perm("programs.view_payment"),
            # Failed payments on a map are exact locations: personal data. Others see the table by district.
            "failedMap": user.has_perms(["programs.view_payment", "registry.view_personal_data"]),
        },
        "text": {**_program_text(), **(_payment_text() if payments else {})},
    }
    context["kinds"] = Program.Kind.choices
    context.update(extra)
    return render(request, template, context)


def _exposure_runs(user) -> list[ExposureRun]:
    """Finished analyses the user may see, newest first, for the rule editor's "exposure run" choice."""
    if not user.has_perm("response.view_exposurerun"):
        return []
    return list(
        response_selectors.exposure_run_list(user=user, incident_id=None)
        .filter(status=ExposureRun.Status.SUCCEEDED)
        .select_related("incident")
        .order_by("-id")[:100]
    )


@login_required
@_requires("programs.view_program", NEEDS_PROGRAMS)
def program_list(request: HttpRequest) -> HttpResponse:
    return _program_page(request, "frontend/programs.html", {"page": "list"})


@login_required
@_requires("programs.view_program", NEEDS_PROGRAMS)
def program_detail(request: HttpRequest, program_id: int) -> HttpResponse:
    return _program_page(request, "frontend/program.html", {"page": "detail", "program": program_id})


@login_required
@_requires("programs.view_program", NEEDS_PROGRAMS)
def rule_editor(request: HttpRequest, program_id: int | None = None) -> HttpResponse:
    runs = _exposure_runs(request.user)
    chosen = _int(request.GET.get("run"))
    return _program_page(
        request,
        "frontend/rules.html",
        {"page": "rules", "program": program_id, "run": chosen if any(r.pk == chosen for r in runs) else None},
        runs=runs,
        program_id=program_id,
    )


@login_required
@_requires("programs.view_program", NEEDS_PROGRAMS)
def simulation_detail(request: HttpRequest, simulation_id: int) -> HttpResponse:
    return _program_page(request, "frontend/simulation.html", {"page": "simulation", "simulation": simulation_id})


@login_required
@_requires("programs.view_cycle", NEEDS_CYCLES)
def cycle_detail(request: HttpRequest, cycle_id: int) -> HttpResponse:
    return _program_page(request, "frontend/cycle.html", {"page": "cycle", "cycle": cycle_id}, payments=True)


# ---- Payments: batches (prepare, release by another person, files, status reports, reconciliation) and a
# household's payment history. The pages hold no names or account numbers: the payments API gives none.

NEEDS_PAYMENTS = gettext_lazy("This page shows payment batches, and your role may not see them.")
NEEDS_PAYMENT_HISTORY = gettext_lazy("This page shows a household's payments, and your role may not see them.")


def _payment_text() -> dict:
    """Words the payment scripts (payments.js, on the cycle, batch and household pages) print."""
    return {
        "batch": gettext("Batch"),
        "provider": gettext("Provider"),
        "executionDate": gettext("Execution date"),
        "payments": gettext("Payments"),
        "noBatches": gettext("No payment batches for this cycle yet."),
        "noProviders": gettext("No active provider pays in this currency."),
        "preparing": gettext("Preparing the batch"),
        "prepared": gettext("Batch prepared:"),
        "releasing": gettext("Writing and checking the files"),
        "released": gettext("Files written and valid:"),
        "sending": gettext("Sending the files"),
        "sent": gettext("Files sent:"),
        "importing": gettext("Importing the report"),
        "imported": gettext("Report imported:"),
        "alreadyImported": gettext("This file was imported before: nothing changed."),
        "applied": gettext("applied"),
        "unchanged": gettext("unchanged"),
        "issues": gettext("to check"),
        "noIssues": gettext("Every entry of the report was applied or already known."),
        "line": gettext("Line"),
        "reference": gettext("Reference"),
        "problem": gettext("Problem"),
        "preparedBy": gettext("Prepared by %(user)s on %(when)s"),
        "releasedBy": gettext("Released by %(user)s on %(when)s"),
        "cancelledBecause": gettext("Cancelled: %(reason)s"),
        "ownBatch": gettext("You prepared this batch: another person must release it."),
        "cancelBatchReason": gettext("Why is this batch cancelled?"),
        "held": gettext("Held back"),
        "heldReasons": {
            "no_account": gettext("no account at this provider"),
            "account_not_corrected": gettext("account not corrected since the payment failed"),
            "over_transaction_limit": gettext("over the provider's limit per payment"),
            "paid_or_in_another_batch": gettext("paid, or in another batch"),
        },
        "count": gettext("Count"),
        "file": gettext("File"),
        "attempt": gettext("Attempt"),
        "format": gettext("Format"),
        "transactions": gettext("Payments"),
        "controlSum": gettext("Control sum"),
        "submittedAt": gettext("Submitted"),
        "download": gettext("Download"),
        "markSubmitted": gettext("Mark submitted"),
        "noFiles": gettext("No files yet: the batch is released first."),
        "endToEndId": gettext("EndToEndId"),
        "reason": gettext("Reason"),
        "flag": gettext("Flag"),
        "noPayments": gettext("No payments."),
        "allStatuses": gettext("all"),
        "historyOf": gettext("Payments of household %(household)s"),
        "noHistory": gettext("This household has no payments in your areas."),
        "events": gettext("Events"),
        "at": gettext("When"),
        "actor": gettext("By"),
        "reissueOf": gettext("re-issue of %(id)s"),
        "failedPoints": gettext("%(shown)s failed or returned payments on the map"),
        "failedPointsOf": gettext("%(shown)s of %(count)s failed or returned payments on the map"),
        "noFailed": gettext("No failed or returned payments in your areas."),
        "balance": {
            "planned": gettext("Planned"),
            "paid": gettext("Paid"),
            "failed": gettext("Failed"),
            "returned": gettext("Returned"),
            "pending": gettext("Pending"),
            "cancelled": gettext("Cancelled"),
        },
        "batchStates": {
            "preparing": gettext("preparing"),
            "prepared": gettext("prepared"),
            "released": gettext("released"),
            "sent": gettext("sent"),
            "closed": gettext("closed"),
            "cancelled": gettext("cancelled"),
        },
        "paymentStates": {
            "pending": gettext("pending"),
            "sent": gettext("sent"),
            "accepted": gettext("accepted"),
            "paid": gettext("paid"),
            "failed": gettext("failed"),
            "returned": gettext("returned"),
            "cancelled": gettext("cancelled"),
        },
        "fileStates": {
            "validated": gettext("validated"),
            "sending": gettext("sending"),
            "submitted": gettext("submitted"),
            "rejected": gettext("rejected"),
            "superseded": gettext("superseded"),
        },
    }


@login_required
@_requires("programs.view_paymentbatch", NEEDS_PAYMENTS)
def payment_batch_detail(request: HttpRequest, batch_id: int) -> HttpResponse:
    statuses = list(_payment_text()["paymentStates"].items())
    return _program_page(
        request,
        "frontend/payment_batch.html",
        {"page": "batch", "batch": batch_id},
        payments=True,
        payment_statuses=statuses,
    )


@login_required
@_requires("programs.view_payment", NEEDS_PAYMENT_HISTORY)
def household_payments(request: HttpRequest, household_id: int) -> HttpResponse:
    return _program_page(
        request,
        "frontend/household_payments.html",
        {"page": "household", "household": household_id},
        payments=True,
    )


# ---- Distribution: the logistics officer's pages (stock, movements, plans on the map, redemption at a point). The
# pages start from ids and the user's permissions; the data comes from /api/v1/distribution/ in the pages' scripts
# (static/frontend/distribution/), which hold no business rules: the API decides what a movement or a redemption may do.

NEEDS_STOCK = gettext_lazy("This page shows warehouses and their stock, and your role may not see them.")
NEEDS_POINTS = gettext_lazy("This page serves a distribution point, and your role may not see distribution points.")
NEEDS_PLANS = gettext_lazy("This page shows distribution plans, and your role may not see them.")
SERVICE_WORKER = Path(__file__).resolve().parent / "static" / "frontend" / "distribution" / "sw.js"


def _distribution_text() -> dict:
    """Words the distribution scripts print, translated here so that the scripts hold no language."""
    return {
        "loading": gettext("Loading…"),
        "none": gettext("None"),
        "item": gettext("Item"),
        "lot": gettext("Lot"),
        "expiry": gettext("Expiry"),
        "onHand": gettext("On hand"),
        "unit": gettext("Unit"),
        "location": gettext("Location"),
        "warehouse": gettext("Warehouse"),
        "point": gettext("Distribution point"),
        "noStock": gettext("No stock here."),
        "noAlerts": gettext("No alerts."),
        "lowStock": gettext("Below minimum stock"),
        "nearExpiry": gettext("Expires soon"),
        "expired": gettext("Expired"),
        "saved": gettext("Recorded:"),
        "grn": gettext("Goods received note (PDF)"),
        "waybill": gettext("Waybill (PDF)"),
        "addLine": gettext("Add a line"),
        "remove": gettext("Remove"),
        "failed": gettext("Failed:"),
        "planning": gettext("Planning"),
        "planned": gettext("Plan ready:"),
        "households": gettext("Households"),
        "people": gettext("People"),
        "capacity": gettext("Capacity"),
        "usable": gettext("usable"),
        "unusable": gettext("unusable"),
        "quantity": gettext("Quantity"),
        "fromWarehouses": gettext("From warehouses"),
        "shortfall": gettext("Shortfall"),
        "noShortfall": gettext("Stock covers every point."),
        "trucks": gettext("Trucks"),
        "travel": gettext("Travel time"),
        "minutes": gettext("%(n)s min"),
        "reason": gettext("Reason"),
        "area": gettext("Area"),
        "unreachable": gettext("Unreachable households"),
        "noUnreachable": gettext("Every household reaches a point."),
        "closedRoads": gettext("Closed roads"),
        "catchments": gettext("Catchments"),
        "routes": gettext("Routes"),
        "points": gettext("Distribution points"),
        "noPlans": gettext("No plans yet."),
        "noVehicles": gettext("No trucks registered: add them to the fleet first."),
        "routed": gettext("%(routes)s routes, %(km)s km in all"),
        "unserved": gettext("not served: %(stops)s"),
        "routeSheet": gettext("Route sheets (PDF)"),
        "noTransport": gettext("The plan sends nothing from the warehouses: no route to make."),
        "documentKinds": {
            "receipt": gettext("Goods received note"),
            "transfer": gettext("Transfer waybill"),
            "dispatch": gettext("Dispatch waybill"),
            "loss": gettext("Loss or damage report"),
            "adjustment": gettext("Stock count adjustment"),
            "return": gettext("Return"),
            "reversal": gettext("Reversal"),
        },
        "defaultNetwork": gettext("the default network"),
        "open": gettext("Open"),
        "changes": gettext("Changes since the previous plan"),
        "moved": gettext("changed point"),
        "joined": gettext("joined"),
        "left": gettext("left"),
        "scanning": gettext("Point the camera at the QR code."),
        "noCamera": gettext("No camera here: type the code instead."),
        "checking": gettext("Checking the code…"),
        "redeemed": gettext("Handed out:"),
        "refused": gettext("Refused:"),
        "queued": gettext("Offline: recorded on this device, to be sent when the connection is back."),
        "pending": gettext("%(n)s recorded offline, not sent yet"),
        "synced": gettext("Sent: %(accepted)s accepted, %(conflicts)s to follow up"),
        "conflict": gettext("To follow up"),
        "online": gettext("Online"),
        "offline": gettext("Offline"),
        "remaining": gettext("Remaining"),
        "entitled": gettext("Entitled"),
        "handOut": gettext("Hand out"),
        "deviceMissing": gettext("This device is not registered for the point: register it first."),
        "deviceReady": gettext("Device registered: %(code)s"),
        "verifyOffline": gettext("Not checked: no connection. The code is recorded and checked when sent."),
        "status": gettext("Status"),
        "when": gettext("When"),
    }


def _distribution_can(user) -> dict:
    """What the distribution pages offer, following the permissions the API checks for each action."""
    return {
        "viewStock": user.has_perm("distribution.view_warehouse"),
        "receive": user.has_perm("distribution.add_stockmovement"),
        "transfer": user.has_perm("distribution.add_stockmovement"),
        "dispatch": user.has_perm("distribution.add_stockmovement"),
        "viewPlans": user.has_perm("distribution.view_distributionplan"),
        "addPlan": user.has_perm("distribution.add_distributionplan"),
        "redeem": user.has_perm("distribution.add_redemption"),
        "routeTrucks": user.has_perms(["distribution.add_routerun", "distribution.view_vehicle"]),
        # Unreachable households on the map are exact locations: personal data. Others see counts per area.
        "householdPoints": user.has_perms(["registry.view_household", "registry.view_personal_data"]),
    }


def _distribution_page(request: HttpRequest, template: str, config: dict, **extra) -> HttpResponse:
    user = request.user
    context = _shell(request)
    context["page_config"] = {
        **config,
        "username": user.get_username(),
        "bounds": _scope_bounds(user),
        "can": _distribution_can(user),
        "text": _distribution_text(),
    }
    context.update(extra)
    return render(request, template, context)


def _point_or_404(request: HttpRequest, point_id: int) -> DistributionPoint:
    point = distribution_selectors.distribution_point_list(user=request.user).filter(pk=point_id).first()
    if point is None:
        raise Http404(gettext("No such distribution point in your areas."))
    return point


@login_required
@_requires("distribution.view_warehouse", NEEDS_STOCK)
def stock_page(request: HttpRequest) -> HttpResponse:
    """Stock by warehouse (or point), item and lot with expiry and the alerts."""
    return _distribution_page(request, "frontend/distribution_stock.html", {"page": "stock"})


@login_required
@_requires("distribution.view_warehouse", NEEDS_STOCK)
def movements_page(request: HttpRequest) -> HttpResponse:
    """Receipt (goods received note), transfer and dispatch (waybill) forms."""
    return _distribution_page(request, "frontend/distribution_movements.html", {"page": "movements"})


@login_required
@_requires("distribution.view_distributionplan", NEEDS_PLANS)
def plans_page(request: HttpRequest) -> HttpResponse:
    """The distribution plans, newest first, and the form that starts one. The form's cycles come from here: a
    logistics officer plans a cycle's distribution without the program officer's right to browse cycles."""
    cycles = []
    if request.user.has_perm("distribution.add_distributionplan"):
        plannable = cycle_list(user=request.user).filter(state__in=["approved", "distributed"])
        cycles = [
            {"id": c.pk, "label": f"{c.program.name} · {c.name}", "exposureRun": c.exposure_run_id}
            for c in plannable.order_by("-starts_on", "-id")[:200]
        ]
    return _distribution_page(request, "frontend/distribution_plans.html", {"page": "plans", "cycles": cycles})


@login_required
@_requires("distribution.view_distributionplan", NEEDS_PLANS)
def plan_page(request: HttpRequest, plan_id: int) -> HttpResponse:
    """One plan on the map: points, catchments, closed roads, routes, unreachable households, with shortfalls."""
    return _distribution_page(request, "frontend/distribution_plan.html", {"page": "plan", "plan": plan_id})


@login_required
@_requires("distribution.view_distributionpoint", NEEDS_POINTS)
def redeem_page(request: HttpRequest, point_id: int) -> HttpResponse:
    """The redemption screen of one distribution point: camera QR scanner, manual code entry, offline recording."""
    point = _point_or_404(request, point_id)
    config = {"page": "redeem", "point": {"id": point.pk, "code": point.code, "name": point.name}}
    return _distribution_page(request, "frontend/distribution_redeem.html", config, point=point)


def redeem_service_worker(request: HttpRequest) -> HttpResponse:
    """The redemption screen's service worker, served from /distribution/ so that its scope covers the points' pages
    (a worker under /static/ could control only /static/). It holds no data: it caches the screen and its scripts, so
    it is served without sign-in (a device whose session ended still gets its update)."""
    response = HttpResponse(SERVICE_WORKER.read_text(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = "/distribution/"
    return response
