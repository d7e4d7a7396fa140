"""Pure domain model of ktpel: no database, no HTTP, no files."""
