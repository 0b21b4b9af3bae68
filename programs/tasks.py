from celery import shared_task


@shared_task(name="programs.generate_entitlements")
def generate_entitlements_task(run_id: int) -> str:
    from programs.services import cycle_generate_execute

    return cycle_generate_execute(run_id=run_id).status


@shared_task(name="programs.enrolment")
def enrolment_task(run_id: int) -> str:
    from programs.services import enrolment_execute

    return enrolment_execute(run_id=run_id).status


@shared_task(name="programs.payment_batch_run")
def payment_batch_run_task(run_id: int) -> str:
    from programs.payments.services import batch_run_execute

    return batch_run_execute(run_id=run_id).status


@shared_task(name="programs.payment_report")
def payment_report_task(report_id: int) -> str:
    from programs.payments.services import report_execute

    return report_execute(report_id=report_id).status
