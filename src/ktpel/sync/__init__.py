"""Sync the transport both sides use: signing and sealing, envelopes, keys, print authorisations, registration."""
