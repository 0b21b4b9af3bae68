"""The CRVS client: subscribe to a civil registry's birth and death events (SPDCI CRVS API), receive its signed
notify messages, store each event once and turn the ones that match a registrant into change requests for a second
user to approve (docs/interoperability.md, "Civil registration (CRVS)")."""
