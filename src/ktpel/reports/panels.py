"""A panel: one table (what every chart is drawn from), its columns, and how to chart it.

Templates, JSON, CSV, XLSX and the monthly PDF all read the same panel, so the numbers cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ktpel.domain.errors import NotFound


@dataclass
class Column:
    key: str
    label_id: str
    label_en: str


@dataclass
class Series:
    """One line/bar of a chart; `dash` and `pattern` keep it readable printed in black and white."""

    key: str
    label_id: str
    label_en: str
    dash: list[int] = field(default_factory=list)
    pattern: str = "solid"  # solid | hatch | dots | none (bars)


@dataclass
class Chart:
    kind: str  # line | bar
    x: str  # the column holding the x labels
    series: list[Series]
    stacked: bool = False
    y_label_id: str = ""
    y_label_en: str = ""


@dataclass
class Panel:
    id: str
    title_id: str
    title_en: str
    columns: list[Column]
    rows: list[dict]
    chart: Chart | None = None
    note_id: str = ""
    note_en: str = ""
    available: bool = True  # False: the source table has not landed ("belum ada data")

    @property
    def empty(self) -> bool:
        return not self.available or not self.rows

    def as_dict(self) -> dict:
        out = {
            "id": self.id, "title_id": self.title_id, "title_en": self.title_en,
            "available": self.available, "empty": self.empty,
            "columns": [c.__dict__ for c in self.columns], "rows": self.rows,
            "note_id": self.note_id, "note_en": self.note_en,
        }
        if self.chart is not None:
            out["chart"] = {
                "kind": self.chart.kind, "x": self.chart.x, "stacked": self.chart.stacked,
                "y_label_id": self.chart.y_label_id, "y_label_en": self.chart.y_label_en,
                "series": [s.__dict__ for s in self.chart.series],
            }
        return out


def cols(*spec: tuple[str, str, str]) -> list[Column]:
    return [Column(*s) for s in spec]


class UnknownTable(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f"Tabel laporan '{name[:40]}' tidak ada.", f"Report table '{name[:40]}' does not exist.",
                         code="report_table_unknown")


def panel_of(data: dict, name: str) -> Panel:
    try:
        return data["panels"][name]
    except KeyError:
        raise UnknownTable(name) from None


def dashboard_json(period: Period, data: dict) -> dict:
    return {"period": period.as_dict(), **{k: v for k, v in data.items() if k != "panels"},
            "panels": {k: p.as_dict() for k, p in data["panels"].items()}}
