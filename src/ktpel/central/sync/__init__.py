"""Central's half of sync: intake of packets, events back to offices, registration and announcements."""
