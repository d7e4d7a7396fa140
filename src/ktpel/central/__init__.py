"""The data center: intake, dedup pipeline, adjudication, allocation."""
