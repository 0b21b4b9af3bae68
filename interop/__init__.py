"""Interoperability: the DCI social registry server, the CRVS client and national ID
verification (docs/interoperability.md)."""
