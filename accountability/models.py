"""Accountability keeps no data of its own: it reads the apps below it. This model holds only the app's permissions,
so that roles can be granted the dashboard and the published indicators like any other model permission."""

from django.db import models


class Accountability(models.Model):
    """No table (managed = False): the holder of the accountability permissions (view_dashboard, view_indicator).
    Nothing ever queries it."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_dashboard", "Can view the program dashboard and its exports"),
            ("view_indicator", "Can view the published (small-cell suppressed) indicators"),
        ]

    def __str__(self) -> str:
        return "accountability permissions"
