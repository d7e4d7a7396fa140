"""What a dashboard's JSON answers (both sides)."""

from __future__ import annotations

from typing import Any

from ktpel.web.schemas import Answer


class Dashboard(Answer):
    """The period and every panel of a dashboard (see ktpel.reports.panels.dashboard_json)."""

    period: dict[str, Any]
    panels: dict[str, Any]
