"""Messages to the complainant: one row per (ticket, kind, medium), written in the transaction that acknowledges or
decides; email rows are sent after commit by a thin task, SMS rows wait for the gateway to pull them (API)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from grievances.models import Message, Ticket
from spmis.core.tasks import enqueue_on_commit

OUTCOME_WORDS = {
    "en": {
        "upheld": "upheld",
        "partly_upheld": "partly upheld",
        "rejected": "not upheld",
        "withdrawn": "withdrawn",
        "referred": "referred to another service",
    },
    "fr": {
        "upheld": "fondée",
        "partly_upheld": "partiellement fondée",
        "rejected": "non fondée",
        "withdrawn": "retirée",
        "referred": "transmise à un autre service",
    },
    "bn": {
        "upheld": "গৃহীত",
        "partly_upheld": "আংশিক গৃহীত",
        "rejected": "গৃহীত হয়নি",
        "withdrawn": "প্রত্যাহার করা হয়েছে",
        "referred": "অন্য সেবায় পাঠানো হয়েছে",
    },
}

TEMPLATES = {
    "en": {
        "acknowledged": (
            "Complaint {reference} received",
            "We have received your complaint {reference} and will answer by {due}.",
        ),
        "decided": (
            "Decision on complaint {reference}",
            "Your complaint {reference} was {outcome}: {reason} You may appeal within 30 days.",
        ),
        "appeal_decided": (
            "Appeal decision on complaint {reference}",
            "Your appeal on complaint {reference} was {outcome}: {reason}",
        ),
    },
    "fr": {
        "acknowledged": (
            "Plainte {reference} reçue",
            "Nous avons bien reçu votre plainte {reference} et vous répondrons d'ici le {due}.",
        ),
        "decided": (
            "Décision sur la plainte {reference}",
            "Votre plainte {reference} a été jugée {outcome} : {reason} Vous pouvez faire appel sous 30 jours.",
        ),
        "appeal_decided": (
            "Décision d'appel sur la plainte {reference}",
            "Votre appel sur la plainte {reference} a été jugé : {outcome}. {reason}",
        ),
    },
    "bn": {
        "acknowledged": (
            "অভিযোগ {reference} গৃহীত",
            "আমরা আপনার অভিযোগ {reference} পেয়েছি এবং {due} তারিখের মধ্যে উত্তর দেব।",
        ),
        "decided": (
            "অভিযোগ {reference} এর সিদ্ধান্ত",
            "আপনার অভিযোগ {reference}: {outcome}। {reason} আপনি ৩০ দিনের মধ্যে আপিল করতে পারেন।",
        ),
        "appeal_decided": (
            "অভিযোগ {reference} এর আপিলের সিদ্ধান্ত",
            "অভিযোগ {reference} এর আপিল: {outcome}। {reason}",
        ),
    },
}


def render(*, ticket: Ticket, kind: str) -> tuple[str, str]:
    """(subject, body) in the complainant's language (English when it has no template)."""
    language = ticket.language if ticket.language in TEMPLATES else "en"
    subject, body = TEMPLATES[language][kind]
    outcome = ticket.appeal_outcome if kind == "appeal_decided" else ticket.outcome
    reason = ticket.appeal_decision_reason if kind == "appeal_decided" else ticket.decision_reason
    values = {
        "reference": ticket.reference,
        "due": timezone.localtime(ticket.resolve_due_at).date().isoformat(),
        "outcome": OUTCOME_WORDS[language].get(outcome, outcome),
        "reason": reason.strip().rstrip(".") + "." if reason else "",
    }
    return subject.format(**values), body.format(**values)


def message_queue(*, ticket: Ticket, kind: str) -> Message | None:
    """Queue the message for this step in the caller's transaction: by email when the complainant gave one, else by
    SMS; nothing for an anonymous complainant. Written once per (ticket, kind, medium)."""
    if ticket.complainant_email:
        medium, recipient = Message.Medium.EMAIL, ticket.complainant_email
    elif ticket.complainant_phone:
        medium, recipient = Message.Medium.SMS, ticket.complainant_phone
    else:
        return None
    subject, body = render(ticket=ticket, kind=kind)
    message, created = Message.objects.get_or_create(
        ticket=ticket,
        kind=kind,
        medium=medium,
        defaults={"recipient": recipient, "language": ticket.language, "subject": subject, "body": body},
    )
    if created and medium == Message.Medium.EMAIL:
        enqueue_on_commit("grievances.message_send", message.pk)
    return message


def message_send(*, message_id: int) -> str:
    """Send one pending email through Django's configured email backend; SMS rows are left for the gateway. Safe to
    run twice: the row is claimed under a lock and a sent row is not sent again."""
    with transaction.atomic():
        message = Message.objects.select_for_update().filter(pk=message_id).first()
        if message is None or message.status != Message.Status.PENDING or message.medium != Message.Medium.EMAIL:
            return message.status if message else "missing"
        try:
            send_mail(
                message.subject,
                message.body,
                getattr(settings, "DEFAULT_FROM_EMAIL", None),
                [message.recipient],
                fail_silently=False,
            )
        except OSError as error:
            message.status, message.error = Message.Status.FAILED, str(error)[:1000]
        else:
            message.status, message.sent_at = Message.Status.SENT, timezone.now()
        message.save(update_fields=["status", "error", "sent_at"])
        return message.status


@transaction.atomic
def sms_mark_sent(*, user, message_ids: list[int]) -> int:
    """The gateway reports the SMS rows it delivered."""
    return Message.objects.filter(pk__in=message_ids, medium=Message.Medium.SMS, status=Message.Status.PENDING).update(
        status=Message.Status.SENT, sent_at=timezone.now()
    )
