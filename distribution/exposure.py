"""Warehouses and distribution points inside an exposure run's hazard zones: flagged unusable for that response.

Distribution sits above response, so it reads response's zone pieces (each zone version cut once by ST_Subdivide,
see response.models.HazardZonePiece) and answers response's hooks (response.signals); response never names a
distribution table. One set-based INSERT per facility kind, in the run's transaction.
"""

from __future__ import annotations

from psycopg import sql

from distribution.models import DistributionPoint, FacilityExposure, Warehouse
from response.models import ExposureRun, HazardClass, HazardZone, HazardZonePiece

FACILITY_COLUMNS = {Warehouse: "warehouse_id", DistributionPoint: "distribution_point_id"}
KIND_LABELS = {Warehouse: "warehouse", DistributionPoint: "distribution point"}


def facility_exposures_flag(*, run: ExposureRun, cursor) -> int:
    """Flag the run's unusable facilities (the highest class among the zones a facility lies in); returns how many."""
    total = 0
    for model, column in FACILITY_COLUMNS.items():
        cursor.execute(
            sql.SQL(
                """
                INSERT INTO {exposures} (run_id, {column}, zone_id, hazard_class_id, area_id, reason)
                SELECT DISTINCT ON (f.id) %(run)s, f.id, z.id, c.id, f.area_id,
                       format('%%s inside %%s v%%s (%%s): unusable for this response', %(label)s::text,
                              coalesce(nullif(z.name, ''), 'zone'), z.version, c.name)
                FROM {facilities} f
                JOIN {pieces} p ON ST_Intersects(p.geom, f.location)
                JOIN {run_zones} rz ON rz.hazardzone_id = p.zone_id AND rz.exposurerun_id = %(run)s
                JOIN {zones} z ON z.id = p.zone_id
                JOIN {classes} c ON c.id = z.hazard_class_id
                ORDER BY f.id, c.rank DESC, z.id
                """
            ).format(
                exposures=sql.Identifier(FacilityExposure._meta.db_table),
                column=sql.Identifier(column),
                facilities=sql.Identifier(model._meta.db_table),
                pieces=sql.Identifier(HazardZonePiece._meta.db_table),
                run_zones=sql.Identifier(ExposureRun.zones.through._meta.db_table),
                zones=sql.Identifier(HazardZone._meta.db_table),
                classes=sql.Identifier(HazardClass._meta.db_table),
            ),
            {"run": run.pk, "label": KIND_LABELS[model]},
        )
        total += cursor.rowcount
    return total


def on_exposure_computed(sender, *, run: ExposureRun, cursor, **kwargs) -> dict:
    """response.signals.exposure_computed: the run's summary counts its unusable facilities."""
    return {"unusable_facilities": facility_exposures_flag(run=run, cursor=cursor)}


def on_situation_report(sender, *, run: ExposureRun, user, **kwargs):
    """response.signals.situation_report_sections: the unusable facilities inside the user's areas."""
    from distribution.selectors import facility_exposure_list
    from response.report import ReportSection

    rows = [
        [e.facility.code, e.facility.name, e.kind.capitalize(), e.reason]
        for e in facility_exposure_list(run=run, user=user)
    ]
    return ReportSection(
        title="Warehouses and distribution points inside hazard zones (unusable)",
        columns=["Code", "Name", "Kind", "Reason"],
        rows=rows,
    )
