"""Sync the transport both sides use: envelopes, print authorisations, registration, the wiring each side hands
it (the keys and crypto it signs and seals with are `ktpel.keys`)."""
