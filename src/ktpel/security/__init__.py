"""Users, roles, sessions, audit chain, keys and field encryption."""
