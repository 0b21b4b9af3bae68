"""Hooks for the apps above the registry (programs) to react to registry events without the registry knowing them:
registry sends, they receive. Receivers run in the sender's transaction, so a failing receiver fails the approval
and nothing is half-written."""

from django.dispatch import Signal

# Sent inside a death change request's approval, once the individual is marked deceased: kwargs `individual`
# (Individual), `death_date` (date) and `change` (ChangeRequest). A receiver returns a dict of what it did, which is
# added to the change request's diff under the receiver's key (or None).
individual_deceased = Signal()
