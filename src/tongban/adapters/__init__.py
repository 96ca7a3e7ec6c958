"""Interfaces to the outside world: the SMS gateway now; signing keys, NATS and GovStack later."""
