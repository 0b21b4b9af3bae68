"""Our signing key for what we send to a CRVS: the DCI key (interop.dci.keys: settings.SPMIS_DCI_KEYS_FILE, or in
development a key derived from SECRET_KEY), so both halves of interop sign with one key and publish one JWKS
(/.well-known/dci/jwks.json)."""

from __future__ import annotations

from interop.dci.keys import jwks as our_jwks
from interop.dci.keys import signing_key

__all__ = ["our_jwks", "signing_key"]
