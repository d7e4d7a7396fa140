"""Resident notifications: outbox, templates, channels, sender (see docs/notifications.md)."""
