"""Central's national dashboard (on the shared kit in `ktpel.reports`)."""
