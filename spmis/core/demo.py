"""What every demo loader shares."""

from __future__ import annotations

import secrets
from pathlib import Path

from django.conf import settings


def demo_password() -> str:
    """A random password kept in var/ so the login printed by `make demo` stays the same between runs, for every
    demo user whichever app's loader made them."""
    path = Path(settings.BASE_DIR) / "var" / "demo-password"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(9))
        path.chmod(0o600)
    return path.read_text().strip()
