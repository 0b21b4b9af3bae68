"""One error shape for the whole API: HTTP 400 with the offending field names as keys.

Services raise django.core.exceptions.ValidationError (with a dict naming fields); views never catch it
themselves. Database constraint violations that slip past validation become 409 in plain words: a known
constraint's own message, or one per kind of violation; never the constraint's or the table's name. No error text
carries a server file path (spmis.api.redact).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from spmis.api.redact import redact_paths

# Constraints with a message of their own: {name: (field or None, message)}.
CONSTRAINT_MESSAGES: dict[str, tuple[str | None, str]] = {
    "registry_one_open_membership_per_household": ("individual", "The person is already a member of this household."),
    "registry_membership_dates_ordered": ("end_date", "A membership cannot end before it starts."),
    "registry_phone_once": ("phones", "The person already has this phone number."),
    "registry_id_unique_per_type": ("documents", "Someone already holds an ID document of this type and number."),
    "registry_customfield_unique": ("name", "A custom field of this name already exists."),
    "registry_changerequest_four_eyes": (None, "A change must be reviewed by someone other than its submitter."),
    "registry_duplicate_pair_once": (None, "This pair is already in the review queue."),
    "registry_duplicate_order": (None, "The pair must name two different people."),
    "response_zone_version_unique": (None, "The zone was changed by someone else meanwhile; reload and try again."),
    "response_facility_unique": (None, "The facility is already flagged for this analysis."),
    "programs_cycle_four_eyes": (None, "A cycle must be approved by someone other than the person who submitted it."),
    "programs_cycle_regular_no_overlap": ("starts_on", "The period overlaps another regular cycle of the program."),
    "programs_entitlement_once": (None, "The beneficiary already has an entitlement of this kind in this cycle."),
    "programs_entitlement_once_per_incident": (
        None,
        "The program already entitles this beneficiary for the same incident.",
    ),
    "programs_membership_once": ("households", "The household is already a member of the program."),
}
# PostgreSQL SQLSTATE classes of integrity violations.
SQLSTATE_MESSAGES = {
    "23505": "Another record already has this value.",
    "23503": "It refers to a record that does not exist, or one that other records still refer to.",
    "23514": "A value is outside what is allowed.",
    "23502": "A required value is missing.",
    "23P01": "It overlaps an existing record.",
}
GENERIC_CONFLICT = "The change conflicts with existing data."


def integrity_error_detail(error: IntegrityError) -> dict[str, list[str]]:
    """Plain words for a constraint violation, keyed by the field when it is known."""
    diag = getattr(getattr(error, "__cause__", None), "diag", None)
    constraint = getattr(diag, "constraint_name", None) or ""
    if constraint in CONSTRAINT_MESSAGES:
        field, message = CONSTRAINT_MESSAGES[constraint]
        return {field or "non_field_errors": [message]}
    sqlstate = getattr(getattr(error, "__cause__", None), "sqlstate", None)
    message = SQLSTATE_MESSAGES.get(sqlstate or "", GENERIC_CONFLICT)
    table = getattr(diag, "table_name", None) or ""
    # Django names a single-column unique constraint <table>_<column>_key (or _uniq): the column is a field name.
    for suffix in ("_key", "_uniq"):
        if sqlstate == "23505" and table and constraint.startswith(f"{table}_") and constraint.endswith(suffix):
            column = constraint[len(table) + 1 : -len(suffix)]
            if column.isidentifier():
                return {column: [message]}
    column = getattr(diag, "column_name", None)
    if sqlstate == "23502" and column:
        return {column: [message]}
    return {"non_field_errors": [message]}


def positioned_error(message: str, *, line: int, column: int) -> DjangoValidationError:
    """An error at a position in the field's text (a rule, a formula): answered as {"message", "line", "column"}."""
    return DjangoValidationError(message.replace("%", "%%"), code="position", params={"line": line, "column": column})


def _messages(errors: list[DjangoValidationError]) -> list:
    shown: list = []
    for item in errors:
        for error in item.error_list if hasattr(item, "error_list") else [item]:
            params = error.params or {}
            text = error.message % params if params else error.message
            if error.code == "position":
                shown.append({"message": text, "line": params["line"], "column": params["column"]})
            else:
                shown.append(str(text))
    return shown


def _django_validation_detail(error: DjangoValidationError) -> dict | list:
    if hasattr(error, "error_dict"):
        return {field: _messages(errors) for field, errors in error.error_dict.items()}
    return {"non_field_errors": error.messages}


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        # Answered as built: DRF's ValidationError would turn a position's line and column into strings.
        set_rollback()
        return Response(redact_paths(_django_validation_detail(exc)), status=status.HTTP_400_BAD_REQUEST)
    elif isinstance(exc, exceptions.ParseError):
        # A body that is not JSON (or not valid multipart) has no field to name: the request as a whole is wrong.
        exc = exceptions.ValidationError(detail={"non_field_errors": [str(exc.detail)]})
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(detail=str(exc) or None)
    elif isinstance(exc, IntegrityError):
        return Response(integrity_error_detail(exc), status=status.HTTP_409_CONFLICT)
    elif isinstance(exc, exceptions.ValidationError):
        exc = exceptions.ValidationError(detail=redact_paths(exc.detail))
    return drf_exception_handler(exc, context)
