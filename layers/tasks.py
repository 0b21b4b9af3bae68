from celery import shared_task


@shared_task(name="layers.layer_import")
def layer_import_task(import_id: int) -> str:
    from layers.services import layer_import_run

    return layer_import_run(import_id=import_id).status
