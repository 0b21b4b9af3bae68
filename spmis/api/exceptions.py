"""One error shape for the whole API: HTTP 400 with the offending field names as keys.

Services raise django.core.exceptions.ValidationError (with a dict naming fields); views never catch it
themselves. Database constraint violations that slip past validation become 409 rather than 500.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def _django_validation_detail(error: DjangoValidationError) -> dict | list:
    if hasattr(error, "error_dict"):
        return error.message_dict
    return {"non_field_errors": error.messages}


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=_django_validation_detail(exc))
    elif isinstance(exc, exceptions.ParseError):
        # A body that is not JSON (or not valid multipart) has no field to name: the request as a whole is wrong.
        exc = exceptions.ValidationError(detail={"non_field_errors": [str(exc.detail)]})
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(detail=str(exc) or None)
    elif isinstance(exc, IntegrityError):
        return Response(
            {"non_field_errors": ["The change conflicts with existing data.", str(exc).splitlines()[0]]},
            status=status.HTTP_409_CONFLICT,
        )
    return drf_exception_handler(exc, context)
