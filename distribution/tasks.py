from celery import shared_task


@shared_task(name="distribution.network_load")
def network_load(load_id: int) -> str:
    from distribution.roads.services import network_load_execute

    return network_load_execute(load_id=load_id).status


@shared_task(name="distribution.plan_build")
def plan_build_task(plan_id: int) -> str:
    from distribution.plans.services import plan_execute

    return plan_execute(plan_id=plan_id).status


@shared_task(name="distribution.route_run")
def route_run(run_id: int) -> str:
    from distribution.roads.services import route_run_execute

    return route_run_execute(run_id=run_id).status
