"""Writes for programs: one transaction per use case. Split by concern; import from here."""

from programs.services.cycles import (
    cycle_advance,
    cycle_approve,
    cycle_cancel,
    cycle_create,
    cycle_generate,
    cycle_generate_execute,
    cycle_return_to_draft,
    cycle_submit,
    cycle_update,
)
from programs.services.deaths import memberships_pause_for_death
from programs.services.enrolment import enrolment_execute, enrolment_start, membership_change
from programs.services.programs import program_create, program_update
from programs.services.simulations import scenario_promote, simulation_create
from programs.services.topups import topup_launch, topup_preview
from programs.services.triggers import notice_read, trigger_create, triggers_fire_for_incident

__all__ = [
    "cycle_advance",
    "cycle_approve",
    "cycle_cancel",
    "cycle_create",
    "cycle_generate",
    "cycle_generate_execute",
    "cycle_return_to_draft",
    "cycle_submit",
    "cycle_update",
    "enrolment_execute",
    "enrolment_start",
    "membership_change",
    "memberships_pause_for_death",
    "notice_read",
    "program_create",
    "program_update",
    "scenario_promote",
    "simulation_create",
    "topup_launch",
    "topup_preview",
    "trigger_create",
    "triggers_fire_for_incident",
]
