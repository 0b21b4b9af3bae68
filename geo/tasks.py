from celery import shared_task


@shared_task(name="geo.area_import")
def area_import_task(import_id: int) -> str:
    from geo.services import area_import_run

    return area_import_run(import_id=import_id).status
