"""The Celery application. Without CELERY_BROKER_URL tasks run in-process (see settings.base)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spmis.settings.local")

app = Celery("spmis")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="spmis.ping")
def ping(payload: str = "pong") -> dict:
    """Round-trip check used by health checks and the real-worker test."""
    import socket

    return {"payload": payload, "host": socket.gethostname(), "pid": os.getpid()}
