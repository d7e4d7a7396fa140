"""What travels between the two sides, as versioned Pydantic models (docs/packet-format.md)."""
