"""Accountability pages: the program dashboard (by area, on a map and over time, with exports), the auditor's log
with its filters and a record's history, and the partners' published indicators. Every figure comes from
accountability.selectors, the same functions the API serves; the pages only shape them. All read-only: the only
forms are GET filters."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy

from accountability import indicators as registry
from accountability.api.audit import parse_filters
from accountability.api.params import parse_date
from accountability.selectors import audit as audit_selectors
from accountability.selectors import dashboard as dashboard_selectors
from accountability.selectors import indicators as indicator_selectors
from frontend.views import _requires, _shell
from geo.api.serializers import AuditEventSerializer
from programs.models import Cycle
from programs.selectors import programs_in_scope
from spmis.api.params import parse_int
from spmis.country import country

NEEDS_DASHBOARD = gettext_lazy("The program dashboard is for program, finance and logistics officers and auditors.")
NEEDS_AUDIT = gettext_lazy("The audit log is for auditors and administrators.")
NEEDS_INDICATORS = gettext_lazy("Your role may not read the published indicators.")
AUDIT_PAGE_SIZE = 50


def _errors(error: ValidationError) -> list[str]:
    return [f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items()]


def _levels() -> list[tuple[int, str]]:
    return list(enumerate(country().level_names))


@login_required
@_requires("accountability.view_dashboard", NEEDS_DASHBOARD)
def dashboard_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    context = _shell(request)
    programs = list(programs_in_scope(user).order_by("name"))
    context.update({"programs": programs, "levels": _levels(), "errors": []})
    params = request.GET
    try:
        program_id = parse_int(params.get("program"), field="program", default=None, minimum=1)
        if program_id is None and programs:
            program_id = programs[0].pk
        if program_id is None:
            return render(request, "frontend/accountability_dashboard.html", context)
        selection = dashboard_selectors.selection_for(
            user=user,
            program_id=program_id,
            cycle_id=parse_int(params.get("cycle"), field="cycle", default=None, minimum=1),
            level=parse_int(params.get("level"), field="level", default=None),
        )
        start = parse_date(params.get("start"), field="start")
        end = parse_date(params.get("end"), field="end")
        series = dashboard_selectors.series(user=user, selection=selection, start=start, end=end)
    except ValidationError as error:
        context["errors"] = _errors(error)
        return render(request, "frontend/accountability_dashboard.html", context, status=400)
    data = dashboard_selectors.dashboard(user=user, selection=selection)
    top = max([day["paid"]["count"] + day["failed"]["count"] + day["redeemed"] for day in series] + [1])
    query = {"program": selection.program.pk, "level": selection.level}
    if selection.cycle:
        query["cycle"] = selection.cycle.pk
    for name in ("start", "end"):
        if params.get(name):
            query[name] = params[name]
    context.update(
        {
            "selection": selection,
            "cycles": list(Cycle.objects.filter(program=selection.program).order_by("-sequence")),
            "data": data,
            "series": series,
            "bars": _bars(series, top),
            "series_width": 10 * len(series),
            "query": urlencode(query),
            "page_config": {
                "level": selection.level,
                "areas": [
                    {
                        "code": row["code"],
                        "name": row["name"],
                        "affected": row["affected"]["households"],
                        "entitled": row["entitlements"]["approved"]["count"],
                        "paid": row["payments"]["paid"]["count"],
                        "redeemed": row["distribution"]["redeemed"],
                    }
                    for row in data["by_area"]
                ],
            },
        }
    )
    return render(request, "frontend/accountability_dashboard.html", context)


def _bars(series: list[dict], top: int) -> list[dict]:
    """Three bars a day (paid, failed, handed over), 100 units high at the busiest day's total."""
    bars = []
    for index, day in enumerate(series):
        paid, failed, redeemed = day["paid"]["count"], day["failed"]["count"], max(day["redeemed"], 0)
        heights = [round(100 * value / top, 1) for value in (paid, failed, redeemed)]
        bars.append(
            {
                "day": day["day"],
                "paid": paid,
                "failed": failed,
                "redeemed": day["redeemed"],
                "x": 10 * index,
                "hp": heights[0],
                "hf": heights[1],
                "hr": heights[2],
                "yp": 100 - heights[0],
                "yf": 100 - heights[1],
                "yr": 100 - heights[2],
            }
        )
    return bars


@login_required
@_requires("core.view_auditevent", NEEDS_AUDIT)
def audit_page(request: HttpRequest) -> HttpResponse:
    """The log, newest first, 50 rows a page; `before` (an id) pages on by keyset, as the API's cursor does."""
    user = request.user
    context = _shell(request)
    context.update({"tables": audit_selectors.audited_tables(), "sources": audit_selectors.SOURCES,
                    "actions": audit_selectors.ACTIONS, "errors": [], "filters": request.GET})  # fmt: skip
    try:
        filters = parse_filters(request.GET)
        before = parse_int(request.GET.get("before"), field="before", default=None, minimum=1)
    except ValidationError as error:
        context["errors"] = _errors(error)
        return render(request, "frontend/accountability_audit.html", context, status=400)
    queryset = audit_selectors.audit_log(user=user, filters=filters)
    if before is not None:
        queryset = queryset.filter(id__lt=before)
    rows = list(queryset[: AUDIT_PAGE_SIZE + 1])
    withheld = audit_selectors.withheld_tables(user)
    events = AuditEventSerializer(rows[:AUDIT_PAGE_SIZE], many=True, context={"withheld_tables": withheld}).data
    kept = {key: value for key, value in request.GET.items() if key != "before" and value}
    context.update(
        {
            "events": events,
            "export_query": urlencode(kept),
            "next_query": urlencode({**kept, "before": rows[AUDIT_PAGE_SIZE - 1].id})
            if len(rows) > AUDIT_PAGE_SIZE
            else "",
        }
    )
    return render(request, "frontend/accountability_audit.html", context)


@login_required
@_requires("core.view_auditevent", NEEDS_AUDIT)
def audit_record_page(request: HttpRequest, table: str, row_id: int) -> HttpResponse:
    context = _shell(request)
    context["history"] = audit_selectors.record_history(user=request.user, table=table, row_id=row_id)
    return render(request, "frontend/accountability_record.html", context)


@login_required
@_requires("accountability.view_indicator", NEEDS_INDICATORS)
def indicators_page(request: HttpRequest) -> HttpResponse:
    context = _shell(request)
    context.update({"levels": _levels()[1:], "errors": []})
    try:
        query = indicator_selectors.indicator_query(
            user=request.user, level=parse_int(request.GET.get("level"), field="level", default=None)
        )
    except ValidationError as error:
        context["errors"] = _errors(error)
        return render(request, "frontend/accountability_indicators.html", context, status=400)
    table = indicator_selectors.indicator_table(user=request.user, query=query)
    keys = list(registry.INDICATORS)
    context.update(
        {
            "table": table,
            "keys": keys,
            "rows": [{"area": area, "cells": [area[key] for key in keys]} for area in table["areas"]],
            "totals": [table["totals"][key] for key in keys],
            "collection": indicator_selectors.collection_id(query.level) if query.level else None,
        }
    )
    return render(request, "frontend/accountability_indicators.html", context)
