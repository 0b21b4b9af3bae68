"""The DCI (SPDCI / G2P Connect) social registry server: signed envelopes, registered senders, search and
transaction status (docs/interoperability.md)."""
