"""Who is acting: passes the user and the source (api, admin, web, command, task) to the audit triggers.

The triggers read the session settings ``spmis.actor`` and ``spmis.source``. Inside an ``audit_context`` a
database execute-wrapper sets them before the first statement of each transaction (and again whenever the
actor changes, e.g. once DRF has authenticated a token), so every writer is attributed without any view,
service or task having to remember to do it.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from typing import Any

from django.db import connections

Actor = str | Callable[[], str]
_current: contextvars.ContextVar[tuple[Actor, str] | None] = contextvars.ContextVar("spmis_audit", default=None)
# Resolving the actor may itself query the database (a lazy request.user loads the session): those queries pass
# straight through instead of re-entering the wrapper.
_resolving: contextvars.ContextVar[bool] = contextvars.ContextVar("spmis_audit_resolving", default=False)


def _resolve(actor: Actor) -> str:
    return actor() if callable(actor) else actor


def _wrapper_for(alias: str):
    def wrapper(execute, sql, params, many, context):
        state = _current.get()
        if state is not None and not _resolving.get():
            connection = connections[alias]
            token = _resolving.set(True)
            try:
                actor, source = _resolve(state[0]), state[1]
            finally:
                _resolving.reset(token)
            atomic_key = id(connection.atomic_blocks[0]) if connection.in_atomic_block else None
            key = (id(connection.connection), atomic_key, actor, source)
            if getattr(connection, "_spmis_audit_key", None) != key:
                execute(
                    "SELECT set_config('spmis.actor', %s, false), set_config('spmis.source', %s, false)",
                    [actor, source],
                    False,
                    context,
                )
                connection._spmis_audit_key = key
        return execute(sql, params, many, context)

    return wrapper


@contextlib.contextmanager
def audit_context(*, actor: Actor, source: str, using: str = "default") -> Iterator[None]:
    """Attribute every write made inside the block to `actor` (a name, or a callable giving one)."""
    token = _current.set((actor, source))
    connection = connections[using]
    try:
        with connection.execute_wrapper(_wrapper_for(using)):
            yield
    finally:
        _current.reset(token)
        if _current.get() is None and getattr(connection, "_spmis_audit_key", None) is not None:
            connection._spmis_audit_key = None
            if connection.connection is not None and not connection.needs_rollback:
                with contextlib.suppress(Exception), connection.cursor() as cursor:
                    cursor.execute("SELECT set_config('spmis.actor', '', false), set_config('spmis.source', '', false)")


def current_context() -> tuple[Actor, str] | None:
    """The (actor, source) in force, to carry into a worker thread (which starts with no context)."""
    return _current.get()


def user_label(user: Any) -> str:
    if user is None or not getattr(user, "is_authenticated", False):
        return "anonymous"
    return f"user:{user.get_username()}"


class AuditContextMiddleware:
    """Attributes writes made while serving a request to the request's user (session or API token)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path
        source = "api" if path.startswith("/api/") else "admin" if path.startswith("/admin/") else "web"
        with audit_context(actor=lambda: user_label(getattr(request, "user", None)), source=source):
            return self.get_response(request)


def connect_task_signals() -> None:
    """Every Celery task runs in an audit context named after the task (its service may narrow the actor)."""
    from celery.signals import task_postrun, task_prerun

    contexts: dict[str, contextlib.ExitStack] = {}

    @task_prerun.connect(weak=False)
    def _enter(task_id=None, task=None, **_):
        stack = contextlib.ExitStack()
        stack.enter_context(audit_context(actor=f"task:{task.name}", source="task"))
        contexts[task_id] = stack

    @task_postrun.connect(weak=False)
    def _exit(task_id=None, **_):
        stack = contexts.pop(task_id, None)
        if stack is not None:
            stack.close()
