"""The reviewer's page for registry change requests (deaths and births above all, many proposed by civil
registration): a list, and approve or reject by a second person. Thin: the registry's services decide (four eyes,
scope, validation); the page shows their words."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from frontend.views import _requires, _shell
from interop.crvs.models import CrvsEvent
from registry import selectors as registry_selectors
from registry import services as registry_services
from registry.models import ChangeRequest

NEEDS_CHANGES = gettext_lazy("This page lists registry change requests, and your role may not see them.")
NEEDS_REVIEW = gettext_lazy("Approving or rejecting a change request needs the right to change them.")
KINDS = ("death", "birth")


def _words(error: ValidationError | PermissionDenied) -> str:
    if isinstance(error, ValidationError) and hasattr(error, "message_dict"):
        return " ".join(" ".join(texts) for texts in error.message_dict.values())
    return " ".join(getattr(error, "messages", None) or [str(error)])


@login_required
@_requires("registry.view_changerequest", NEEDS_CHANGES)
def change_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    status = request.GET.get("status") or "pending"
    kind = request.GET.get("kind") or "vital"
    queryset = registry_selectors.change_request_list(user=user).select_related("individual", "household")
    if status in ChangeRequest.Status.values:
        queryset = queryset.filter(status=status)
    if kind == "vital":
        queryset = queryset.filter(kind__in=KINDS)
    elif kind in ChangeRequest.Kind.values:
        queryset = queryset.filter(kind=kind)
    page = Paginator(queryset.order_by("submitted_at", "id"), 50).get_page(request.GET.get("page"))
    changes = list(page.object_list)
    origins = {
        e.change_request_id: e for e in CrvsEvent.objects.filter(change_request__in=changes).select_related("source")
    }
    personal = registry_selectors.personal_data_allowed(user)
    rows = [
        {
            "change": change,
            "origin": origins.get(change.pk),
            "own": change.submitted_by_id == user.pk,
            "details": change.payload if personal else None,
        }
        for change in changes
    ]
    context = _shell(request) | {
        "rows": rows,
        "page": page,
        "status": status,
        "kind": kind,
        "statuses": ChangeRequest.Status.choices,
        "kinds": [("vital", _("Deaths and births")), *ChangeRequest.Kind.choices],
        "can_review": user.has_perm("registry.change_changerequest"),
        "personal": personal,
    }
    return render(request, "frontend/changes.html", context)


def _review(request: HttpRequest, change_id: int, action) -> HttpResponse:
    if not registry_selectors.change_request_list(user=request.user).filter(pk=change_id).exists():
        raise Http404(_("No such change request in your areas."))
    try:
        change = action()
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, _words(error))
    else:
        messages.success(
            request, _("Change request %(id)s is %(status)s.") % {"id": change.pk, "status": change.status}
        )
    target = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "registry-changes"
    return redirect(target)


@login_required
@require_POST
@_requires("registry.change_changerequest", NEEDS_REVIEW)
def change_approve(request: HttpRequest, change_id: int) -> HttpResponse:
    return _review(
        request,
        change_id,
        lambda: registry_services.change_request_approve(user=request.user, request_id=change_id),
    )


@login_required
@require_POST
@_requires("registry.change_changerequest", NEEDS_REVIEW)
def change_reject(request: HttpRequest, change_id: int) -> HttpResponse:
    reason = request.POST.get("reason", "")
    return _review(
        request,
        change_id,
        lambda: registry_services.change_request_reject(user=request.user, request_id=change_id, reason=reason),
    )
