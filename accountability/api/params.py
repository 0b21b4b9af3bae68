"""Query parameters of the accountability API: dates, besides spmis.api.params."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError


def parse_date(raw: str | None, *, field: str) -> datetime.date | None:
    if raw in (None, ""):
        return None
    try:
        return datetime.date.fromisoformat(raw)
    except ValueError:
        raise ValidationError({field: "Expected a date as YYYY-MM-DD."}) from None


def parse_datetime(raw: str | None, *, field: str) -> datetime.datetime | None:
    """A day (its start) or a moment in ISO 8601; naive moments are in the server's time zone."""
    if raw in (None, ""):
        return None
    from django.utils import timezone

    try:
        value = datetime.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError({field: "Expected a date (YYYY-MM-DD) or a time (YYYY-MM-DDTHH:MM)."}) from None
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value
