"""Thin Celery tasks: the escalation sweep (beat) and sending one outbox message."""

from celery import shared_task


@shared_task(name="grievances.escalate_breached")
def escalate_breached_task() -> int:
    from grievances.services import tickets_escalate

    return tickets_escalate()


@shared_task(name="grievances.message_send")
def message_send_task(message_id: int) -> str:
    from grievances.outbox import message_send

    return message_send(message_id=message_id)
