"""Queueing jobs by task name, and the kernel's periodic tasks.

Services queue their job's task by name (`enqueue_on_commit("response.exposure_run", run.pk)`), so a service never
imports its app's tasks module, nor a task its service at import time. The task is sent once the surrounding
transaction commits (a worker must find the row); without a broker it runs in-process at that moment.
"""

from __future__ import annotations

import importlib
from functools import partial

from celery import shared_task
from django.apps import apps as django_apps
from django.db import transaction


def enqueue_on_commit(task_name: str, job_id: int) -> None:
    """Send task `task_name` with the job's id after the current transaction commits (at once outside one)."""
    # partial, not a lambda: the callback must carry this call's values, not a loop variable's last one.
    transaction.on_commit(partial(_send, task_name, job_id))


def _send(task_name: str, job_id: int) -> None:
    from spmis.celery import app

    if app.conf.task_always_eager:
        if task_name not in app.tasks:
            # The web process never ran a worker's start-up (which imports every app's tasks module): import the one
            # this task lives in, by the convention that task names start with their app's label.
            label = task_name.split(".", 1)[0]
            importlib.import_module(f"{django_apps.get_app_config(label).name}.tasks")
        app.tasks[task_name].delay(job_id)
    else:
        app.send_task(task_name, args=[job_id])


@shared_task(name="core.jobs_fail_stuck")
def jobs_fail_stuck_task() -> dict[str, int]:
    from spmis.core.jobs import jobs_fail_stuck

    return {table: count for table, count in jobs_fail_stuck().items() if count}
