"""The office's dashboard, daily figures, monthly PDF and exports (on the shared kit in `ktpel.reports`)."""
