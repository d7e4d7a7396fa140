"""Adjudication: a person compares candidate duplicates side by side."""
