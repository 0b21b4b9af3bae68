"""Payments: financial service providers, beneficiary payment accounts and their four-eyes changes (issue 12).
Batches, files and reconciliation come later. Models live in programs.payments.models (imported by
programs.models so the app sees them); writes in services.py, reads in selectors.py."""
