"""What the public stock board answers."""

from __future__ import annotations

from typing import Any

from ktpel.web.schemas import Answer


class StockBoard(Answer):
    """Today's public numbers of this office (fields: ktpel.office.transparency.service.Board)."""
