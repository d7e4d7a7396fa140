"""The regency office: residents, recording, outbox, printing, pickup, notices."""
