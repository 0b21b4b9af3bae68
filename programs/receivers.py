"""programs answers response's hooks (response never imports programs)."""

from __future__ import annotations

from django.dispatch import receiver

from response.signals import exposure_computed


@receiver(exposure_computed, dispatch_uid="programs.anticipatory_triggers")
def anticipatory_triggers(sender, run, cursor, **kwargs) -> dict | None:
    """A finished analysis may fire anticipatory triggers: their cycles are drafted in the analysis' transaction."""
    from programs.services import triggers_fire_for_incident

    drafted = triggers_fire_for_incident(run=run, cursor=cursor)
    return {"anticipatory_cycles": drafted} if drafted else None
