"""Each side's key pairs (Ed25519 signing + X25519 sealing, `keyring`) and the primitives they sign and seal
with (`crypto`): a foundation below security (audit checkpoints) and sync (packets, events, authorisations)."""
