"""programs answers the hooks of registry and response (neither imports programs)."""

from __future__ import annotations

from django.dispatch import receiver

from registry.signals import individual_deceased
from response.signals import exposure_computed


@receiver(exposure_computed, dispatch_uid="programs.anticipatory_triggers")
def anticipatory_triggers(sender, run, cursor, **kwargs) -> dict | None:
    """A finished analysis may fire anticipatory triggers: their cycles are drafted in the analysis' transaction."""
    from programs.services import triggers_fire_for_incident

    drafted = triggers_fire_for_incident(run=run, cursor=cursor)
    return {"anticipatory_cycles": drafted} if drafted else None


@receiver(individual_deceased, dispatch_uid="programs.pause_for_death")
def pause_for_death(sender, individual, death_date, change, **kwargs) -> dict | None:
    """An approved death pauses the person's program memberships and unpaid entitlements, in the same transaction."""
    from programs.services import memberships_pause_for_death

    return memberships_pause_for_death(
        individual=individual, death_date=death_date, reference=change.payload.get("reference", "")
    )
