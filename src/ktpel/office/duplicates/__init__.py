"""Data ganda at the office: the cases central announces, the resident's choice, an office's own report."""
