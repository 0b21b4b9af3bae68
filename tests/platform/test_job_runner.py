"""The one job runner (spmis.core.jobs.run_job): every exception ends the row, a redelivered task redoes nothing,
a lost worker's row is taken over or failed, and transient database errors are retried."""

import datetime

import psycopg
import pytest
from django.core.exceptions import ValidationError
from django.db import OperationalError, connection
from django.utils import timezone

from geo.models import AreaImport
from spmis.core import jobs
from spmis.core.jobs import JobOutcome, jobs_fail_stuck, run_job
from spmis.core.tasks import enqueue_on_commit

pytestmark = pytest.mark.django_db(transaction=True)


def new_job(**fields) -> AreaImport:
    return AreaImport.objects.create(file="x.geojson", original_name="x.geojson", **fields)


def test_a_job_that_succeeds_records_its_result_once_and_a_redelivery_redoes_nothing():
    job = new_job()
    calls = []

    def work(job, progress):
        calls.append(job.pk)
        progress(50, "half")
        return JobOutcome(result={"n": 1}, message="All done", fields={"original_name": "renamed.geojson"})

    first = run_job(AreaImport, job.pk, work, error_field="file")
    again = run_job(AreaImport, job.pk, work, error_field="file")  # Celery delivers at least once

    assert calls == [job.pk]
    assert (first.status, first.result, first.message, first.progress, first.attempts) == (
        "succeeded",
        {"n": 1},
        "All done",
        100,
        1,
    )
    assert first.original_name == "renamed.geojson" and first.started_at and first.finished_at
    assert (again.status, again.attempts) == ("succeeded", 1)


def test_an_unexpected_exception_ends_the_job_failed_with_plain_words_and_no_internals(caplog):
    job = new_job()

    def work(job, progress):
        AreaImport.objects.create(file="partial.geojson", original_name="partial")  # rolled back with the failure
        raise KeyError("/srv/spmis/media/secret-path.geojson")

    outcome = run_job(AreaImport, job.pk, work, error_field="file")

    assert outcome.status == "failed" and outcome.finished_at
    assert outcome.error == {"file": [jobs.UNEXPECTED_ERROR]}
    assert "secret-path" not in str(outcome.error) and "secret-path" in caplog.text  # logged for the operator
    assert not AreaImport.objects.filter(original_name="partial").exists()


def test_a_validation_error_keeps_its_field_detail_and_cleanup_runs_whatever_the_outcome():
    job = new_job()
    cleaned = []

    def work(job, progress):
        raise ValidationError({"level": "Level must be 0 (country) or more."})

    def cleanup(job):
        cleaned.append(job.pk)
        return {"original_name": "cleaned"}

    outcome = run_job(AreaImport, job.pk, work, error_field="file", cleanup=cleanup)

    assert outcome.status == "failed" and outcome.error == {"level": ["Level must be 0 (country) or more."]}
    assert cleaned == [job.pk] and outcome.original_name == "cleaned"


def test_transient_database_errors_are_retried_with_a_cap(settings, monkeypatch):
    monkeypatch.setattr(jobs.time, "sleep", lambda seconds: None)
    settings.SPMIS = {**settings.SPMIS, "JOB_TRANSIENT_RETRIES": 2}
    flaky, hopeless = new_job(), new_job()
    tries = {flaky.pk: 0, hopeless.pk: 0}

    def deadlock() -> OperationalError:
        error = OperationalError("deadlock detected")
        error.__cause__ = psycopg.errors.DeadlockDetected("deadlock detected")
        return error

    def work(job, progress):
        tries[job.pk] += 1
        if job.pk == hopeless.pk or tries[job.pk] == 1:
            raise deadlock()
        return JobOutcome(result={"tries": tries[job.pk]})

    assert run_job(AreaImport, flaky.pk, work, error_field="file").result == {"tries": 2}
    failed = run_job(AreaImport, hopeless.pk, work, error_field="file")
    assert tries[hopeless.pk] == 3  # the first try and two retries
    assert (failed.status, failed.error) == ("failed", {"file": [jobs.TRANSIENT_ERROR]})


def test_a_running_job_with_a_live_heartbeat_is_left_alone_and_a_lost_one_is_taken_over():
    live = new_job(status="running", attempts=1, started_at=timezone.now(), heartbeat_at=timezone.now())
    lost_at = timezone.now() - datetime.timedelta(hours=1)
    lost = new_job(status="running", attempts=1, started_at=lost_at, heartbeat_at=lost_at)

    def work(job, progress):
        return JobOutcome(result={"by": "second worker"})

    assert run_job(AreaImport, live.pk, work, error_field="file").status == "running"
    taken = run_job(AreaImport, lost.pk, work, error_field="file")
    assert (taken.status, taken.attempts, taken.result) == ("succeeded", 2, {"by": "second worker"})


def test_a_worker_whose_claim_was_taken_over_cannot_record_its_outcome_and_its_work_rolls_back():
    job = new_job()

    def work(job, progress):
        AreaImport.objects.create(file="late.geojson", original_name="late")
        # Meanwhile the sweep (or a redelivered task) decided this worker was dead.
        with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
            other.execute("UPDATE geo_areaimport SET status = 'failed', error = '{}' WHERE id = %s", [job.pk])
        return JobOutcome(result={"late": True})

    outcome = run_job(AreaImport, job.pk, work, error_field="file")

    assert outcome.status == "failed" and outcome.result == {}
    assert not AreaImport.objects.filter(original_name="late").exists()


def test_the_sweep_fails_running_jobs_whose_heartbeat_stopped_and_only_those(settings):
    now = timezone.now()
    stopped = new_job(status="running", started_at=now - datetime.timedelta(hours=2))
    stopped.__class__.objects.filter(pk=stopped.pk).update(heartbeat_at=now - datetime.timedelta(minutes=10))
    beating = new_job(status="running", started_at=now - datetime.timedelta(hours=2), heartbeat_at=now)
    pending, done = new_job(), new_job(status="succeeded")

    counts = jobs_fail_stuck()

    assert counts["geo_areaimport"] == 1
    stopped.refresh_from_db()
    assert stopped.status == "failed" and stopped.error == {"job": [jobs.STUCK_ERROR]}
    statuses = dict(AreaImport.objects.filter(pk__in=[beating.pk, pending.pk, done.pk]).values_list("pk", "status"))
    assert statuses == {beating.pk: "running", pending.pk: "pending", done.pk: "succeeded"}


def test_the_heartbeat_stamps_the_row_while_the_work_runs(settings):
    job = new_job()
    seen = []

    def work(job, progress):
        before = AreaImport.objects.get(pk=job.pk).heartbeat_at
        jobs.time.sleep(1.5)
        with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
            seen.append(other.execute("SELECT heartbeat_at FROM geo_areaimport WHERE id = %s", [job.pk]).fetchone()[0])
        seen.append(before)
        return JobOutcome(result={})

    settings.SPMIS = {**settings.SPMIS, "JOB_HEARTBEAT_S": 0.3}
    run_job(AreaImport, job.pk, work, error_field="file")
    assert seen[0] > seen[1]


def test_enqueue_on_commit_sends_by_name_after_commit(monkeypatch):
    from django.db import transaction

    sent = []
    monkeypatch.setattr("spmis.core.tasks._send", lambda name, job_id: sent.append((name, job_id)))
    with transaction.atomic():
        for job_id in (1, 2):
            enqueue_on_commit("geo.area_import", job_id)
        assert sent == []
    assert sent == [("geo.area_import", 1), ("geo.area_import", 2)]  # each callback kept its own id


def test_every_beat_schedule_entry_names_a_registered_task(settings):
    from spmis.celery import app

    app.loader.import_default_modules()
    assert "core.jobs_fail_stuck" in {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert all(entry["task"] in app.tasks for entry in settings.CELERY_BEAT_SCHEDULE.values())
    # .result, not .get(): eager tasks elsewhere in this process can leave Celery's "inside a task" flag set.
    assert app.tasks["core.jobs_fail_stuck"].apply().result == {}  # nothing stuck: nothing to report


def test_every_task_is_named_after_the_app_whose_tasks_module_holds_it():
    """enqueue_on_commit imports a task's module from its name's first part (an app label), in a web process that
    never ran a worker's autodiscovery: the convention must hold for every task the apps define."""
    import importlib.util

    from django.apps import apps

    from spmis.celery import app

    checked = []
    for config in apps.get_app_configs():
        if importlib.util.find_spec(f"{config.name}.tasks") is None:
            continue
        module = importlib.import_module(f"{config.name}.tasks")
        names = [task.name for task in vars(module).values() if hasattr(task, "delay") and hasattr(task, "name")]
        for name in names:
            assert name.split(".", 1)[0] == config.label, f"{config.name}.tasks defines {name}"
            assert name in app.tasks
            checked.append(name)
    assert {"geo.area_import", "layers.layer_import", "response.exposure_run", "core.jobs_fail_stuck"} <= set(checked)
