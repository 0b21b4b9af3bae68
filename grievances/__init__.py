"""Grievance redress: tickets from every channel, SLA clocks, decisions, appeals and the
complainant's outbox (docs/grievances.md)."""
