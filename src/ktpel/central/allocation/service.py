"""Central blank allocation: gather each regency's need, propose a plan, publish each office's batch."""

from __future__ import annotations

import csv
import uuid
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ktpel.central.allocation.plan import Plan, RegencyNeed, allocate, with_urgent_estimate
from ktpel.domain.errors import KtpelError
from ktpel.domain.national_record import NationalRecordState
from ktpel.store.schema.printing import BlankAllocationRow, PrintedReportRow
from ktpel.central.sync.events import publish

SERIAL_PREFIX = "KTP-"
SERIAL_WIDTH = 9


class NeedsFileInvalid(KtpelError):
    code = "needs_file_invalid"


def needs_from_csv(path: Path, *, names: dict[str, str] | None = None) -> list[RegencyNeed]:
    """Read `regency_code,backlog,urgent,on_hand` rows (urgent and on_hand may be empty)."""
    out = []
    with path.open(newline="", encoding="utf-8") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            try:
                code = row["regency_code"].strip()
                out.append(RegencyNeed(code=code, name=(names or {}).get(code, code),
                                       backlog=int(row["backlog"]), urgent=int(row.get("urgent") or 0),
                                       on_hand=int(row.get("on_hand") or 0)))
            except (KeyError, ValueError, AttributeError) as exc:
                raise NeedsFileInvalid(f"{path.name} baris {line}: {exc}", f"{path.name} line {line}: {exc}") \
                    from None
    return out


def needs_from_database(session: Session, *, names: dict[str, str] | None = None) -> list[RegencyNeed]:
    """Each office's print-ready backlog (central records PRINT_READY whose card was not reported printed)."""
    from ktpel.store.schema.central import NationalRecordRow

    printed = select(PrintedReportRow.card_id)
    backlog = dict(session.execute(
        select(NationalRecordRow.office_code, func.count())
        .where(NationalRecordRow.state == NationalRecordState.PRINT_READY.value,
               (NationalRecordRow.card_id.is_(None)) | (NationalRecordRow.card_id.not_in(printed)))
        .group_by(NationalRecordRow.office_code)).all())
    sent = dict(session.execute(select(BlankAllocationRow.regency_code, func.sum(BlankAllocationRow.blanks))
                                .where(BlankAllocationRow.published.is_(True))
                                .group_by(BlankAllocationRow.regency_code)).all())
    used = dict(session.execute(select(PrintedReportRow.office_code, func.count())
                                .group_by(PrintedReportRow.office_code)).all())
    codes = sorted(set(backlog) | set(sent))
    return [RegencyNeed(code=c, name=(names or {}).get(c, c), backlog=int(backlog.get(c, 0)), urgent=0,
                        on_hand=max(0, int(sent.get(c, 0) or 0) - int(used.get(c, 0))))
            for c in codes]


def propose(*, stock: int, needs: list[RegencyNeed], urgent_share: float) -> Plan:
    """The proposed split; urgent counts not reported are estimated as `urgent_share` of the backlog."""
    return allocate(stock=stock, needs=with_urgent_estimate(needs, share=urgent_share))


def _next_serial(session: Session) -> int:
    last = session.scalar(select(func.max(BlankAllocationRow.last_serial)))
    return int(last.removeprefix(SERIAL_PREFIX)) + 1 if last else 1


def save_plan(session: Session, *, plan: Plan, actor: str, publish: bool) -> str:
    """Store the plan with a serial range per regency; with `publish`, each office gets a `blanks.allocated`."""
    plan_id = "P" + uuid.uuid4().hex[:11]
    cursor = _next_serial(session)
    for a in plan.allocations:
        first = last = None
        if a.blanks:
            first = f"{SERIAL_PREFIX}{cursor:0{SERIAL_WIDTH}d}"
            last = f"{SERIAL_PREFIX}{cursor + a.blanks - 1:0{SERIAL_WIDTH}d}"
            cursor += a.blanks
        session.add(BlankAllocationRow(plan_id=plan_id, regency_code=a.need.code, blanks=a.blanks,
                                       first_serial=first, last_serial=last, backlog=a.need.backlog,
                                       urgent=a.need.urgent, on_hand=a.need.on_hand, published=publish,
                                       created_by=actor))
        if publish and a.blanks:
            _publish(session, plan_id=plan_id, office_code=a.need.code, first=first, last=last, count=a.blanks)
    session.flush()
    return plan_id


def _publish(session: Session, *, plan_id: str, office_code: str, first: str | None, last: str | None,
             count: int) -> None:
    publish(session, office_code=office_code, kind="blanks.allocated", subject_id=f"{plan_id}-{office_code}",
            data={"plan_id": plan_id, "first_serial": first, "last_serial": last, "count": count})


def chart_png(plan: Plan, path: Path, *, title: str = "Alokasi blanko / blank allocation") -> Path:
    """A bar chart per regency: backlog, stock on hand and this allocation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = plan.allocations[:30]
    labels = [a.need.name.replace("Kabupaten ", "Kab. ")[:22] for a in rows]
    fig, ax = plt.subplots(figsize=(max(6, 0.55 * len(rows) + 2), 4.5), dpi=110)
    xs = range(len(rows))
    ax.bar([x - 0.27 for x in xs], [a.need.backlog for a in rows], width=0.27, label="PRR backlog", color="#9aa5b1")
    ax.bar(list(xs), [a.need.on_hand for a in rows], width=0.27, label="stok di kantor / on hand", color="#f0b429")
    ax.bar([x + 0.27 for x in xs], [a.urgent_part for a in rows], width=0.27, label="alokasi mendesak / urgent",
           color="#d64545")
    ax.bar([x + 0.27 for x in xs], [a.backlog_part for a in rows], width=0.27,
           bottom=[a.urgent_part for a in rows], label="alokasi / allocation", color="#2680c2")
    ax.set_xticks(list(xs), labels, rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("blanko")
    ax.set_title(f"{title}: {plan.allocated:,} / {plan.stock:,}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
