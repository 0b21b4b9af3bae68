from celery import shared_task


@shared_task(name="response.exposure_run")
def exposure_run_task(run_id: int) -> str:
    from response.services import exposure_run_execute

    return exposure_run_execute(run_id=run_id).status
