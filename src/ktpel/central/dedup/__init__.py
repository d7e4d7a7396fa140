"""Demographic deduplication: NIK collision and Fellegi–Sunter probabilistic matching."""
