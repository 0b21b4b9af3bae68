"""Payments (issue 12): providers, encrypted beneficiary accounts and their four-eyes changes; batches, the payment
ledger and reconciliation (services/); the files sent to providers (files/), how they are sent (connectors/) and
the status files that come back (reports/). Models live in programs.payments.models (imported by programs.models
so the app sees them); reads in selectors.py; the API in api/."""
