"""Demo stock: a relief catalogue (rice in 25 kg bags, lentils, oil, oral rehydration salts, tarpaulins, hygiene
kits, water purification tablets) and opening receipts into the demo warehouses through the ledger, with one lot of
ORS close to expiry so the alerts have something to say. Idempotent: a warehouse that already has its opening
receipt is left alone."""

from __future__ import annotations

import datetime

from django.utils import timezone

from distribution.models import Warehouse
from distribution.stock import services
from distribution.stock.models import StockDocument, StockItem

# code, name, category, base unit, kg and m3 per base unit, kcal per base unit, minimum stock, units {code: factor}
CATALOGUE = [
    ("rice", "Rice", "food", "kg", "1", "0.0013", "3600", "2000", {"bag": 25, "sack": 50, "t": 1000}),
    ("lentils", "Red lentils", "food", "kg", "1", "0.0012", "3500", "500", {"bag": 25}),
    ("oil", "Fortified vegetable oil", "food", "l", "0.92", "0.001", "8280", "200", {"jerrycan": 5, "carton": 12}),
    ("ors", "Oral rehydration salts", "health", "sachet", "0.03", "0.00005", None, "1000", {"box": 100}),
    ("tarpaulin", "Tarpaulin 4x6 m", "shelter", "piece", "4.5", "0.01", None, "100", {"bale": 10}),
    ("hygiene-kit", "Family hygiene kit", "wash", "kit", "5", "0.02", None, "100", {}),
    ("water-tablets", "Water purification tablets", "wash", "strip", "0.01", "0.00001", None, "500", {"box": 50}),
]
OPENING = "DEMO-OPENING"


def load_demo_catalogue() -> int:
    for code, name, category, base, kg, m3, kcal, minimum, units in CATALOGUE:
        item = StockItem.objects.filter(code=code).first()
        fields = {
            "name": name,
            "category": category,
            "weight_kg": kg,
            "volume_m3": m3,
            "kcal": kcal,
            "minimum_stock": minimum,
        }
        if item is None:
            fields.update(code=code, base_unit=base)
        services.stock_item_save(
            item=item, units=[{"code": u, "factor": f, "is_pack": u != "t"} for u, f in units.items()], **fields
        )
    return len(CATALOGUE)


def load_demo_stock() -> dict[str, int]:
    """The catalogue and an opening goods received note per demo warehouse (larger ones at divisional stores)."""
    items = load_demo_catalogue()
    today = timezone.localdate()
    receipts = 0
    for number, warehouse in enumerate(Warehouse.objects.order_by("code")):
        if StockDocument.objects.filter(destination_warehouse=warehouse, reference=OPENING).exists():
            continue
        scale = 2 if (warehouse.capacity_tonnes or 0) >= 500 else 1
        lines = [
            {
                "item": "rice",
                "quantity": 400 * scale,
                "unit": "bag",
                "lot": f"RICE-{today:%y}{number:02d}",
                "expires_on": today + datetime.timedelta(days=300),
                "shortage": 3,
                "damaged": 2,
            },
            {
                "item": "lentils",
                "quantity": 80 * scale,
                "unit": "bag",
                "lot": f"LEN-{today:%y}{number:02d}",
                "expires_on": today + datetime.timedelta(days=240),
            },
            {
                "item": "oil",
                "quantity": 50 * scale,
                "unit": "carton",
                "lot": f"OIL-{today:%y}{number:02d}",
                "expires_on": today + datetime.timedelta(days=365),
            },
            {
                "item": "ors",
                "quantity": 20 * scale,
                "unit": "box",
                "lot": f"ORS-{today:%y}{number:02d}A",
                "expires_on": today + datetime.timedelta(days=20),
            },
            {
                "item": "ors",
                "quantity": 40 * scale,
                "unit": "box",
                "lot": f"ORS-{today:%y}{number:02d}B",
                "expires_on": today + datetime.timedelta(days=400),
            },
            {"item": "tarpaulin", "quantity": 30 * scale, "unit": "bale"},
            {"item": "hygiene-kit", "quantity": 150 * scale, "unit": "kit"},
            {"item": "water-tablets", "quantity": 20 * scale, "unit": "box"},
        ]
        services.stock_receive(
            warehouse_id=warehouse.pk, lines=lines, supplier="WFP / UNICEF (demo)", reference=OPENING
        )
        receipts += 1
    return {"items": items, "receipts": receipts}
