"""Reads for accountability, the one place where its scoping is applied: the program dashboard (dashboard.py), the
audit log for auditors (audit.py) and the published, small-cell suppressed indicators (indicators.py)."""
