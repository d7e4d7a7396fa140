"""Suket: the temporary certificate an office issues when the KTP-El cannot be printed now."""
