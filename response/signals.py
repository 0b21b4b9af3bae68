"""Hooks for the apps above response (programs, distribution) to add their part to an analysis without response
knowing them: response sends, they receive. Receivers run in the sender's transaction, so a failing receiver fails
the analysis and nothing is half-written."""

from django.dispatch import Signal

# Sent inside an exposure run's transaction once its result rows are written: kwargs `run` (ExposureRun) and
# `cursor` (the run's cursor). A receiver returns a dict of figures to add to the run's summary (or None).
exposure_computed = Signal()

# Sent while a situation report is built: kwargs `run` and `user`. A receiver returns a ReportSection (or None),
# already restricted to what the user may see.
situation_report_sections = Signal()
