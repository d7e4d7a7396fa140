"""Dashboards and reports: figures computed from the database, charts, exports, metrics, monthly PDF."""
