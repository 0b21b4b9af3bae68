"""Page views: they gather what a page needs to start (through selectors) and leave the rest to the JSON APIs."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext

from geo.models import Area
from geo.selectors import scope_queryset, user_area_ids
from registry.models import Household
from response import selectors as response_selectors
from response.models import ExposureRun, Incident
from spmis.api.throttling import TOO_MANY_LOGINS, LoginRateThrottle

CHART_LEVEL = 2


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


def _scope_bounds(user) -> list[float] | None:
    """[[south, west], [north, east]] of the user's areas (the whole country for national users)."""
    from django.contrib.gis.db.models import Extent

    ids = user_area_ids(user)
    queryset = Area.objects.filter(id__in=ids) if ids else Area.objects.filter(level=0)
    extent = queryset.aggregate(box=Extent("geom"))["box"]
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
@permission_required("response.view_incident", raise_exception=True)
def map_page(request: HttpRequest) -> HttpResponse:
    incident = _incident_or_404(request, _int(request.GET.get("incident")))
    context = _shell(request, incident=incident)
    context["hazard_types"] = Incident._meta.get_field("hazard_type").choices
    user = request.user
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
            "density": gettext("Households per district (zoom in for points)"),
            "zones": gettext("Hazard zones"),
            "zone": gettext("Zone"),
            "choropleth": gettext("Affected by district"),
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
        },
    }
    return render(request, "frontend/map.html", context)


@login_required
@permission_required("response.view_incident", raise_exception=True)
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
        rows = response_selectors.exposure_aggregates(run=run, user=request.user, level=CHART_LEVEL, k=k)
        context.update(_dashboard_figures(rows))
        context["k"] = k
    return render(request, "frontend/dashboard.html", context)


def _dashboard_figures(rows: list) -> dict:
    """Totals, per-class and per-area sums shaped for the templates' bar charts (widths in percent)."""
    demographic_keys = response_selectors.COUNT_COLUMNS[2:]  # individuals, then the groups the aggregates count
    totals = {"households": 0, "approximate_households": 0, **dict.fromkeys(demographic_keys, 0)}
    by_class: dict[str, dict] = {}
    by_area: dict[str, dict] = {}
    for row in rows:
        counts = {key: value or 0 for key, value in row.counts.items()}
        for key in totals:
            totals[key] += counts.get(key, 0)
        cls = by_class.setdefault(row.class_key, {"key": row.class_key, "name": row.class_name, "rank": row.class_rank})
        cls["households"] = cls.get("households", 0) + counts["households"]
        cls["individuals"] = cls.get("individuals", 0) + counts["individuals"]
        area = by_area.setdefault(row.area_code, {"code": row.area_code, "name": row.area_name, "households": 0})
        area["households"] += counts["households"]
        area.setdefault("classes", {})[row.class_key] = counts["households"]
    classes = sorted(by_class.values(), key=lambda c: -c["rank"])
    areas = sorted(by_area.values(), key=lambda a: -a["households"])
    top = max([c["households"] for c in classes] + [1])
    for item in classes:
        item["width"] = round(100 * item["households"] / top, 1)
    top_area = max([a["households"] for a in areas] + [1])
    for item in areas:
        item["width"] = round(100 * item["households"] / top_area, 1)
    people = max(totals["individuals"], 1)
    demographics = [
        {"key": key, "value": totals[key], "width": round(100 * totals[key] / people, 1)} for key in demographic_keys
    ]
    affected_areas = sum(1 for area in areas if area["households"])
    return {
        "totals": totals,
        "by_class": classes,
        "by_area": areas[:25],  # the chart shows the 25 hardest hit; the count below covers all
        "areas_affected": affected_areas,
        "demographics": demographics,
    }


@login_required
@permission_required("layers.view_vectorlayer", raise_exception=True)
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
    return render(request, "frontend/analyst.html", context)


DENSITY_LEVEL = 2


@login_required
@permission_required("registry.view_household", raise_exception=True)
def household_density(request: HttpRequest) -> JsonResponse:
    """Located households per district inside the user's areas: the map shades districts with it at low zoom,
    where drawing every household point would be slow and unreadable."""
    counts = (
        scope_queryset(Household.objects.filter(location__isnull=False), request.user)
        .values(f"area__lineage__{DENSITY_LEVEL}")
        .annotate(households=Count("id"))
        .order_by()
    )
    by_id = {row[f"area__lineage__{DENSITY_LEVEL}"]: row["households"] for row in counts}
    codes = dict(Area.objects.filter(id__in=[pk for pk in by_id if pk]).values_list("id", "code"))
    return JsonResponse(
        {"level": DENSITY_LEVEL, "households": {codes[pk]: n for pk, n in by_id.items() if pk in codes}}
    )


AFFECTED_PAGE_SIZE = 100


@login_required
@permission_required("response.view_exposureresult", raise_exception=True)
def affected_list(request: HttpRequest, incident_id: int, run_id: int) -> HttpResponse:
    """The affected households of one analysis, a page at a time, filtered by class, area or approximate."""
    incident = _incident_or_404(request, incident_id)
    run = get_object_or_404(response_selectors.exposure_run_list(user=request.user, incident_id=incident.pk), pk=run_id)
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
