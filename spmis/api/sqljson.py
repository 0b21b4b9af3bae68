"""JSON pages built in the database: a list page's rows as one JSON array from one statement, so a page of 100
households with their members costs no Python object per member.

A list declares, per output field, the SQL expression that yields it (`columns`); which fields a page carries is
a parameter (the serializer the view picked for the user's role), so a per-role field set plugs in without touching
the SQL. A field with no SQL expression is a programming error, raised at once: the JSON page and the serializer
must never drift apart (tests compare them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from psycopg import sql


def serializer_fields(serializer_class) -> list[str]:
    """The output field names of a (model) serializer class, in order."""
    return list(serializer_class().fields)


def model_columns(model, alias: str) -> dict[str, sql.Composable]:
    """{field name: alias.column} for a model's concrete non-geometry fields (a foreign key gives its id, as a
    serializer's primary-key field does)."""
    return {
        field.name: sql.SQL("{}.{}").format(sql.Identifier(alias), sql.Identifier(field.column))
        for field in model._meta.concrete_fields
        if field.column and not getattr(field, "geom_type", None)
    }


def json_object(columns: Mapping[str, sql.Composable], fields: Sequence[str], *, what: str) -> sql.Composed:
    """json_build_object('field', <expression>, ...) for `fields`, in their order (json, not jsonb: jsonb would
    reorder the keys). PostgreSQL functions take at most 100 arguments: 50 fields."""
    missing = [field for field in fields if field not in columns]
    if missing:
        raise ImproperlyConfigured(f"No SQL for the {what} field(s) {', '.join(missing)}: add them to its columns.")
    if len(fields) > 50:
        raise ImproperlyConfigured(f"A {what} JSON object holds at most 50 fields.")
    pairs = [sql.SQL("{}, {}").format(sql.Literal(field), columns[field]) for field in fields]
    return sql.SQL("json_build_object({})").format(sql.SQL(", ").join(pairs))


def json_rows(query: sql.Composable, params: Sequence) -> str:
    """Run a statement that returns one json value (the page's array) and give back its text, unparsed."""
    with connection.cursor() as cursor:
        # As text: psycopg would otherwise parse the json into Python objects, the cost this module avoids.
        cursor.execute(sql.SQL("SELECT ({})::text").format(query), params)
        (text,) = cursor.fetchone()
    return text or "[]"
