"""Synthetic district: deterministic residents and families built from real region codes and names."""
