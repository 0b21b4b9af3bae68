"""Accountability: the program dashboard, the auditor's pages and published k-anonymous
indicators (docs/accountability.md)."""
