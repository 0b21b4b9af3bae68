"""SLA clocks, without the database: each ticket has two, acknowledgement and resolution."""

from __future__ import annotations

import datetime
from enum import StrEnum

AT_RISK_SHARE = 0.75


class Clock(StrEnum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    BREACHED = "breached"
    MET = "met"
    MISSED = "missed"


def clock_state(
    *, started: datetime.datetime, due: datetime.datetime, done: datetime.datetime | None, now: datetime.datetime
) -> Clock:
    """Stopped clocks are met or missed; running ones are on track, at risk once 75% of the time is used, or
    breached after the due time."""
    if done is not None:
        return Clock.MET if done <= due else Clock.MISSED
    if now > due:
        return Clock.BREACHED
    allowed = (due - started).total_seconds()
    used = (now - started).total_seconds()
    if allowed <= 0 or used >= AT_RISK_SHARE * allowed:
        return Clock.AT_RISK
    return Clock.ON_TRACK


def ticket_clocks(ticket, *, now: datetime.datetime) -> dict[str, str]:
    """{"acknowledgement": state, "resolution": state} for a ticket (any object with the Ticket fields)."""
    return {
        "acknowledgement": clock_state(
            started=ticket.created_at, due=ticket.ack_due_at, done=ticket.acknowledged_at, now=now
        ).value,
        "resolution": clock_state(
            started=ticket.created_at, due=ticket.resolve_due_at, done=ticket.resolved_at, now=now
        ).value,
    }
