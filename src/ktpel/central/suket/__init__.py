"""Central's national log of Suket (temporary certificates) reported by the offices."""
