from celery import shared_task


@shared_task(name="distribution.plan_build")
def plan_build_task(plan_id: int) -> str:
    from distribution.plans.services import plan_execute

    return plan_execute(plan_id=plan_id).status
