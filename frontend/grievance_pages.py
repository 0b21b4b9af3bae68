"""Grievance pages: the officer's queue, a ticket with its history and the forms that move it, the intake form for
the call centre and walk-ins, and the public complaint page. Thin views over grievances.selectors and services."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from distribution.models import DistributionPoint
from geo.selectors import scope_queryset
from grievances import selectors, services
from grievances.models import Severity, Ticket
from grievances.sla import ticket_clocks

NEEDS_GRIEVANCES = gettext_lazy("This page lists complaints, and your role may not see them.")
ACTIONS = {
    "acknowledge": services.ticket_acknowledge,
    "start": services.ticket_start,
    "close": services.ticket_close,
}


def _shell(request: HttpRequest) -> dict:
    from frontend.views import _shell as shell

    return shell(request)


def _require(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied(NEEDS_GRIEVANCES)


def _errors(error: ValidationError) -> list[str]:
    if hasattr(error, "message_dict"):
        return [f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items()]
    return list(error.messages)


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    _require(request, "grievances.view_ticket")
    clock = request.GET.get("clock") or None
    status = request.GET.get("status") or None
    rows = selectors.ticket_queue(user=request.user, clock=clock, status=status)
    return render(
        request,
        "frontend/grievances/queue.html",
        {
            **_shell(request),
            "rows": rows,
            "clock": clock,
            "status": status,
            "statuses": Ticket.Status.choices,
            "can_add": request.user.has_perm("grievances.add_ticket"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def intake(request: HttpRequest) -> HttpResponse:
    _require(request, "grievances.add_ticket")
    errors: list[str] = []
    form = request.POST if request.method == "POST" else {}
    if request.method == "POST":
        try:
            created = services.ticket_create(
                user=request.user,
                channel=form.get("channel", ""),
                category=form.get("category", ""),
                description=form.get("description", ""),
                severity=form.get("severity") or None,
                area_code=form.get("area") or None,
                distribution_point_id=form.get("distribution_point") or None,
                household_id=form.get("household") or None,
                anonymous=form.get("anonymous") == "on",
                complainant_name=form.get("complainant_name", ""),
                complainant_phone=form.get("complainant_phone", ""),
                complainant_email=form.get("complainant_email", ""),
                language=form.get("language", "en"),
            )
        except ValidationError as error:
            errors = _errors(error)
        else:
            return redirect("grievance-ticket", ticket_id=created.ticket.pk)
    points = scope_queryset(DistributionPoint.objects.order_by("code"), request.user)[:500]
    return render(
        request,
        "frontend/grievances/intake.html",
        {
            **_shell(request),
            "categories": selectors.category_list(),
            "points": points,
            "severities": Severity.choices,
            "languages": Ticket.Language.choices,
            "form": form,
            "errors": errors,
        },
        status=400 if errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def ticket_page(request: HttpRequest, ticket_id: int) -> HttpResponse:
    _require(request, "grievances.view_ticket")
    errors: list[str] = []
    if request.method == "POST":
        _require(request, "grievances.change_ticket")
        action = request.POST.get("action", "")
        try:
            if action in ACTIONS:
                ACTIONS[action](user=request.user, ticket_id=ticket_id, note=request.POST.get("note", ""))
            elif action == "decide":
                services.ticket_decide(
                    user=request.user,
                    ticket_id=ticket_id,
                    outcome=request.POST.get("outcome", ""),
                    reason=request.POST.get("reason", ""),
                )
            elif action == "appeal":
                services.ticket_appeal(user=request.user, ticket_id=ticket_id, reason=request.POST.get("reason", ""))
            elif action == "decide_appeal":
                services.ticket_decide_appeal(
                    user=request.user,
                    ticket_id=ticket_id,
                    outcome=request.POST.get("outcome", ""),
                    reason=request.POST.get("reason", ""),
                )
            elif action == "note":
                services.ticket_note(user=request.user, ticket_id=ticket_id, note=request.POST.get("note", ""))
            else:
                errors = [f"action: unknown action {action!r}."]
        except ValidationError as error:
            errors = _errors(error)
        if not errors:
            return redirect("grievance-ticket", ticket_id=ticket_id)
    ticket = selectors.ticket_get(user=request.user, ticket_id=ticket_id)
    return render(
        request,
        "frontend/grievances/ticket.html",
        {
            **_shell(request),
            "ticket": ticket,
            "clocks": ticket_clocks(ticket, now=timezone.now()),
            "events": selectors.ticket_events(user=request.user, ticket_id=ticket_id),
            "contact": selectors.contact_allowed(request.user),
            "outcomes": Ticket.Outcome.choices,
            "can_change": request.user.has_perm("grievances.change_ticket"),
            "errors": errors,
        },
        status=400 if errors else 200,
    )


@require_http_methods(["GET", "POST"])
def public_complaint(request: HttpRequest) -> HttpResponse:
    """No sign-in: anyone may complain, anonymously if they wish, and follow the complaint with its code."""
    errors: list[str] = []
    created = None
    found = None
    form = request.POST if request.method == "POST" else {}
    if request.method == "POST" and form.get("form") == "status":
        found = selectors.public_status(reference=form.get("reference", ""), code=form.get("code", ""))
        if found is None:
            errors = ["No complaint with this reference and follow-up code; check both."]
    elif request.method == "POST":
        try:
            created = services.ticket_create(
                channel=Ticket.Channel.WEB,
                category=form.get("category", ""),
                description=form.get("description", ""),
                anonymous=form.get("anonymous") == "on",
                complainant_name=form.get("complainant_name", ""),
                complainant_phone=form.get("complainant_phone", ""),
                complainant_email=form.get("complainant_email", ""),
                language=form.get("language", "en"),
            )
        except ValidationError as error:
            errors = _errors(error)
    context = {
        "categories": selectors.category_list(),
        "languages": Ticket.Language.choices,
        "form": form,
        "errors": errors,
        "created": created,
        "found": found,
    }
    if request.user.is_authenticated:
        context.update(_shell(request))
    return render(request, "frontend/grievances/public.html", context, status=400 if errors else 200)


urlpatterns = [
    path("grievances/", queue, name="grievance-queue"),
    path("grievances/new/", intake, name="grievance-intake"),
    path("grievances/<int:ticket_id>/", ticket_page, name="grievance-ticket"),
    path("complaint/", public_complaint, name="grievance-public"),
]
