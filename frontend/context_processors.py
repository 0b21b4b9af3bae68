"""Template context shared by every page."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from spmis.country import country as configured_country


def country(request: HttpRequest) -> dict:
    """The configured country: `country` for templates, `country_config` for the page's json_script."""
    current = configured_country()
    return {"country": current, "country_config": current.as_page_config()}


def jobs(request: HttpRequest) -> dict:
    """How long pages poll a job row before they stop waiting and say so (SPMIS_JOB_POLL_DEADLINE_S)."""
    return {"job_poll_deadline_s": settings.SPMIS["JOB_POLL_DEADLINE_S"]}
