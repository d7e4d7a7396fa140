"""Data-ganda resolution: the resident chooses which record stays."""
