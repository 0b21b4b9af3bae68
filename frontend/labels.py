"""Labels stored or generated elsewhere (role names, hazard types, incident statuses) that the templates translate
at runtime with {% translate value %}; listed here so makemessages puts them in the catalogue."""

from django.utils.translation import gettext_noop

LABELS = [
    gettext_noop("Emergency coordinator"),
    gettext_noop("GIS analyst"),
    gettext_noop("Program officer"),
    gettext_noop("Logistics officer"),
    gettext_noop("Auditor"),
    gettext_noop("Administrator"),
    gettext_noop("Flood"),
    gettext_noop("Fire"),
    gettext_noop("Cyclone"),
    gettext_noop("Earthquake"),
    gettext_noop("Drought"),
    gettext_noop("Other"),
    gettext_noop("Alert"),
    gettext_noop("Active"),
    gettext_noop("Recovery"),
    gettext_noop("Closed"),
]
