from celery import shared_task


@shared_task(name="registry.import")
def registry_import_task(import_id: int) -> str:
    from registry.services import registry_import_run

    return registry_import_run(import_id=import_id).status


@shared_task(name="registry.dedup")
def dedup_run_task(run_id: int) -> str:
    from registry.dedup import dedup_run_execute

    return dedup_run_execute(run_id=run_id).status
