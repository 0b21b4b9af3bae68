from celery import shared_task


@shared_task(name="distribution.network_load")
def network_load(load_id: int) -> str:
    from distribution.roads.services import network_load_execute

    return network_load_execute(load_id=load_id).status
