"""Credentials API: card requests and printing under /api/v1/programs/ (programs/api/urls.py), and the public
well-known documents and OpenID4VCI endpoints a wallet or verifier reaches without an account (spmis/urls.py)."""
