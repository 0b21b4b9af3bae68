"""Thin Celery tasks of the DCI server: they take a row's id and call its service."""

from celery import shared_task


@shared_task(name="interop.dci_deliver")
def dci_deliver_task(transaction_pk: int) -> str:
    from interop.dci.services import dci_deliver

    return dci_deliver(transaction_pk=transaction_pk).delivery
