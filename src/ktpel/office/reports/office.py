"""The office dashboard (dasbor kantor): figures of one regency office, computed from its database."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from ktpel.domain.blanks import BlankState
from ktpel.domain.delivery import PacketState
from ktpel.domain.enrollment import CardState, EnrollmentState
from ktpel.domain.errors import KtpelError
from ktpel.domain.ikd import IkdActivation
from ktpel.office.reports import daily as daily_mod
from ktpel.reports.panels import Chart, Panel, Series, cols
from ktpel.reports.period import Period, WIB, day_start_utc, week_start
from ktpel.reports.sources import as_date, as_utc, local_day, table
from ktpel.office.reports.turnaround import STAGE_LABELS, weekly_turnaround
from ktpel.store.schema.core import CardRow, DomainEventRow, EnrollmentRow, ResidentRow

WAITING_CARD_STATES = (CardState.PRINT_READY.value, CardState.AUTHORISED.value)
RATE_DAYS = 14  # print rate = mean of the last two weeks: smooths weekends without hiding a change


def _sum(days: dict[dt.date, dict], metric: str, since: dt.date) -> int:
    return sum(v[metric] for d, v in days.items() if d >= since)


def backlog_now(session: Session, *, office_code: str) -> int:
    """Cards print-ready at this office and not yet printed (the article's 20,000)."""
    # an office database holds only its own cards; the office code is checked where enrollments are counted
    return session.scalar(
        select(func.count()).select_from(CardRow).where(CardRow.state.in_(WAITING_CARD_STATES))
    ) or 0


def blanks_now(session: Session) -> int | None:
    """Blanks on hand: the printing ledger where it exists, else batches received minus prints; None if unknown."""
    ledger = daily_mod.blank_ledger()
    if ledger is not None:
        return session.scalar(select(func.count()).select_from(ledger).where(ledger.c.state == BlankState.AVAILABLE.value)) or 0
    batches = session.execute(select(DomainEventRow.data).where(
        DomainEventRow.name.in_(daily_mod.BLANK_EVENTS))).scalars().all()
    if not batches:
        return None
    received = sum(daily_mod._blank_count(d) for d in batches)
    used = session.scalar(select(func.count()).select_from(DomainEventRow).where(DomainEventRow.name == "card.print")) or 0
    return max(0, received - used)


def _policy():  # noqa: ANN202
    """The office's print priority policy (printing capability), or None where it is not available."""
    try:
        from ktpel.office.printing.policy import current_policy
    except ImportError:
        return None
    try:
        return current_policy()
    except (KtpelError, OSError):  # an unreadable policy must not take the dashboard down; age classes remain
        return None


def _years_ago(today: dt.date, n: int) -> dt.date:
    try:
        return today.replace(year=today.year - n)
    except ValueError:  # 29 February
        return today.replace(year=today.year - n, day=28)


def waiting_by_policy(session: Session, *, office_code: str, today: dt.date, policy) -> list[dict]:  # noqa: ANN001
    """Waiting residents under their highest-weight class: automatic (age) plus what the counter recorded.

    The age classes are counted in SQL (one aggregate over the waiting cards); only the few residents
    with classes recorded at the counter are looked at one by one.
    """
    born = ResidentRow.birth_date
    sixty = born <= _years_ago(today, 60)
    seventeen = and_(born <= _years_ago(today, 17), born > _years_ago(today, 18))
    total, n60, n17 = session.execute(
        select(func.count(), func.sum(case((sixty, 1), else_=0)), func.sum(case((seventeen, 1), else_=0)))
        .select_from(CardRow).join(ResidentRow, ResidentRow.id == CardRow.resident_id)
        .where((ResidentRow.regency_code + "") == office_code, CardRow.state.in_(WAITING_CARD_STATES))
    ).one()
    auto = {c.automatic: c.code for c in policy.classes.values() if c.automatic}
    counts: dict[str, int] = {"umum": total or 0}
    for kind, n in (("age_60_plus", n60 or 0), ("age_17", n17 or 0)):
        if kind in auto and n:
            counts[auto[kind]] = counts.get(auto[kind], 0) + n
            counts["umum"] -= n
    queue = table("print_queue", "card_id", "classes")
    if queue is not None:
        for classes, birth in session.execute(
            select(queue.c.classes, ResidentRow.birth_date).select_from(queue)
            .join(CardRow, CardRow.id == queue.c.card_id).join(ResidentRow, ResidentRow.id == CardRow.resident_id)
            .where((CardRow.state + "").in_(WAITING_CARD_STATES))  # few queue rows: start from them
        ):
            automatic = set(policy.automatic_classes(birth_date=birth, today=today))
            codes = (automatic | set(classes or [])) & set(policy.classes)
            if not classes or not codes:
                continue
            before = max(automatic & set(policy.classes), key=lambda c: (policy.classes[c].weight, c)) \
                if automatic & set(policy.classes) else "umum"
            after = max(codes, key=lambda c: (policy.classes[c].weight, c))
            counts[before] -= 1  # move the resident from the age bucket to the class the counter recorded
            counts[after] = counts.get(after, 0) + 1
    ordered = sorted(policy.classes.values(), key=lambda c: -c.weight)
    rows = [{"kelas": c.code, "label": c.label_id, "label_en": c.label_en, "jumlah": counts.get(c.code, 0)}
            for c in ordered]
    rows.append({"kelas": "umum", "label": "Umum", "label_en": "General", "jumlah": counts.get("umum", 0)})
    return rows


def waiting_by_class(session: Session, *, office_code: str, today: dt.date) -> list[dict]:
    """Residents waiting for a printed card, by priority class (the print policy's, else by age)."""
    policy = _policy()
    if policy is not None:
        return waiting_by_policy(session, office_code=office_code, today=today, policy=policy)
    def years_ago(n: int) -> dt.date:
        try:
            return today.replace(year=today.year - n)
        except ValueError:  # 29 February
            return today.replace(year=today.year - n, day=28)

    born = ResidentRow.birth_date
    classes = [
        ("lansia", "Lansia 60+", "Elderly 60+", born <= years_ago(60)),
        ("pemilih_baru", "Baru 17 tahun", "Newly 17", born > years_ago(18)),
    ]
    cols_sql = [func.sum(case((cond, 1), else_=0)) for *_, cond in classes]
    row = session.execute(
        select(func.count(), *cols_sql).select_from(CardRow)
        .join(ResidentRow, ResidentRow.id == CardRow.resident_id)
        .where((ResidentRow.regency_code + "") == office_code, CardRow.state.in_(WAITING_CARD_STATES))
    ).one()
    total = row[0] or 0
    out = [{"kelas": cid, "label": lid, "label_en": len_, "jumlah": int(row[i + 1] or 0)}
           for i, (cid, lid, len_, _) in enumerate(classes)]
    out.append({"kelas": "umum", "label": "Umum", "label_en": "General",
                "jumlah": total - sum(r["jumlah"] for r in out)})
    return out


def today_panel(days: dict[dt.date, dict], *, today: dt.date, queued_now: int, packets_queued: int | None) -> Panel:
    monday = week_start(today)
    rows = []
    for metric, lid, len_ in (
        ("recordings", "Perekaman", "Recordings"), ("queued", "Paket masuk antrean", "Packets queued"),
        ("sent", "Paket terkirim (SFE)", "Packets sent (SFE)"), ("prr", "PRR diterima", "PRR received"),
        ("printed", "Kartu dicetak", "Cards printed"), ("issued", "Kartu diambil", "Cards issued"),
    ):
        rows.append({"metrik": metric, "label": lid, "label_en": len_,
                     "hari_ini": days.get(today, {}).get(metric, 0), "minggu_ini": _sum(days, metric, monday)})
    rows.append({"metrik": "queued_now", "label": "Paket menunggu kirim sekarang", "label_en": "Packets waiting now",
                 "hari_ini": packets_queued if packets_queued is not None else queued_now,
                 "minggu_ini": packets_queued if packets_queued is not None else queued_now})
    return Panel(
        id="ringkasan", title_id="Hari ini dan minggu ini", title_en="Today and this week",
        columns=cols(("label", "Ukuran", "Measure"), ("hari_ini", "Hari ini", "Today"),
                     ("minggu_ini", "Minggu ini", "This week")),
        rows=rows,
        chart=Chart(kind="bar", x="label", series=[
            Series("hari_ini", "Hari ini", "Today", pattern="hatch"),
            Series("minggu_ini", "Minggu ini", "This week", pattern="solid")]),
    )


def series_panel(days: dict[dt.date, dict], *, period: Period, backlog: int, blanks: int | None) -> Panel:
    """Print-ready backlog vs blanks on hand, per day, walked back from today's true counts."""
    rows = []
    b, k = backlog, blanks
    for d in sorted(days, reverse=True):
        v = days[d]
        if period.start <= d <= period.end:
            rows.append({"tanggal": d.isoformat(), "backlog": max(0, b), "blanko": None if k is None else max(0, k),
                         "dicetak": v["printed"], "prr": v["prr"]})
        # state at the end of the previous day = now minus what happened that day
        b -= v["prr"] + v["resolved"] + v["spoiled"] - v["printed"]
        if k is not None:
            k -= v["blanks_received"] - v["printed"]
    rows.reverse()
    return Panel(
        id="backlog_blanko", title_id="Siap cetak (PRR) vs blanko tersedia",
        title_en="Print-ready backlog vs blanks on hand",
        columns=cols(("tanggal", "Tanggal", "Date"), ("backlog", "Siap cetak belum dicetak", "Print-ready backlog"),
                     ("blanko", "Blanko tersedia", "Blanks on hand"), ("prr", "PRR masuk", "PRR in"),
                     ("dicetak", "Dicetak", "Printed")),
        rows=rows,
        chart=Chart(kind="line", x="tanggal", y_label_id="kartu", y_label_en="cards", series=[
            Series("backlog", "Siap cetak", "Print-ready", dash=[]),
            Series("blanko", "Blanko", "Blanks", dash=[8, 4])]),
        note_id="" if blanks is not None else "Stok blanko belum tercatat.",
        note_en="" if blanks is not None else "No blank stock recorded yet.",
    )


def stock_panel(days: dict[dt.date, dict], *, today: dt.date, blanks: int | None, backlog: int) -> Panel:
    since = today - dt.timedelta(days=RATE_DAYS - 1)
    rate = _sum(days, "printed", since) / RATE_DAYS
    if blanks is None:
        days_left = None
    elif rate <= 0:
        days_left = None
    else:
        days_left = round(blanks / rate, 1)
    rows = [{"blanko": blanks, "laju_cetak_per_hari": round(rate, 1), "hari_sampai_habis": days_left,
             "backlog": backlog, "kekurangan": None if blanks is None else max(0, backlog - blanks)}]
    return Panel(
        id="stok_blanko", title_id="Stok blanko", title_en="Blank stock",
        columns=cols(("blanko", "Blanko tersedia", "Blanks on hand"),
                     ("laju_cetak_per_hari", f"Cetak/hari ({RATE_DAYS} hari)", f"Printed/day ({RATE_DAYS} days)"),
                     ("hari_sampai_habis", "Hari sampai habis", "Days to stock-out"),
                     ("backlog", "Siap cetak", "Print-ready"), ("kekurangan", "Kekurangan blanko", "Blank shortfall")),
        rows=rows, available=blanks is not None,
        note_id="Tidak ada cetak 14 hari terakhir: hari sampai habis tidak dapat dihitung." if rate <= 0 else "",
        note_en="Nothing printed in 14 days: days to stock-out cannot be computed." if rate <= 0 else "",
    )


IKD_REVOKED = f"{IkdActivation.ENTITY}.revoke"  # the event the IKD machine stores on revocation
FIELD_COLUMNS = ("ikd_aktif", "blanko_dihemat", "ikd_dicabut", "suket_terbit")


def _count_per_day(session: Session, out: dict[dt.date, dict], key: str, column, *where, weight=None) -> None:  # noqa: ANN001
    """Add to `out[day][key]` the rows (or the sum of `weight`) per local day of `column`."""
    day = local_day(session, column)
    amount = func.count() if weight is None else func.sum(weight)
    for d, n in session.execute(select(day, amount).where(*where).group_by(day)):
        if as_date(d) in out:
            out[as_date(d)][key] += int(n or 0)


def field_panel(session: Session, *, office_code: str, period: Period) -> tuple[Panel, dict]:
    """IKD activated per day (and of those, blanks saved: no card printed yet), revoked, and Suket issued.

    What the office did for residents instead of printing a card; the totals are the headline figure.
    """
    lo, hi = day_start_utc(period.start), day_start_utc(period.end + dt.timedelta(days=1))
    days = {d: {"tanggal": d.isoformat(), **dict.fromkeys(FIELD_COLUMNS, 0)} for d in period.days}
    ikd = table("ikd_activations", "office_code", "activated_at", "saves_blank")
    if ikd is not None:
        when = (ikd.c.activated_at >= lo, ikd.c.activated_at < hi, ikd.c.office_code == office_code)
        _count_per_day(session, days, "ikd_aktif", ikd.c.activated_at, *when)
        _count_per_day(session, days, "blanko_dihemat", ikd.c.activated_at, *when,
                       weight=case((ikd.c.saves_blank.is_(True), 1), else_=0))
        # a revocation is the state machine's event (domain/ikd.py), stamped when it happened; rare, so the
        # name index finds them without reading the period's other events
        _count_per_day(session, days, "ikd_dicabut", DomainEventRow.at, DomainEventRow.name == IKD_REVOKED,
                       DomainEventRow.at >= lo, DomainEventRow.at < hi)
    suket = table("suket", "issued_at")
    if suket is not None:
        _count_per_day(session, days, "suket_terbit", suket.c.issued_at, suket.c.issued_at >= lo,
                       suket.c.issued_at < hi)
    totals = {k: sum(r[k] for r in days.values()) for k in FIELD_COLUMNS}
    panel = Panel(
        id="ikd_blanko", title_id="IKD diaktifkan (blanko dihemat)", title_en="IKD activated (blanks saved)",
        columns=cols(("tanggal", "Tanggal", "Date"), ("ikd_aktif", "IKD diaktifkan", "IKD activated"),
                     ("blanko_dihemat", "Blanko dihemat", "Blanks saved"),
                     ("ikd_dicabut", "IKD dicabut", "IKD revoked"), ("suket_terbit", "Suket diterbitkan", "Suket issued")),
        rows=list(days.values()), available=ikd is not None or suket is not None,
        chart=Chart(kind="bar", x="tanggal", series=[
            Series("ikd_aktif", "IKD diaktifkan", "IKD activated", pattern="solid"),
            Series("blanko_dihemat", "Blanko dihemat", "Blanks saved", pattern="hatch"),
            Series("suket_terbit", "Suket diterbitkan", "Suket issued", pattern="dots")]),
        note_id=f"Periode ini: {totals['ikd_aktif']} IKD diaktifkan, {totals['blanko_dihemat']} blanko dihemat "
                f"(IKD sebelum kartu dicetak), {totals['ikd_dicabut']} dicabut; {totals['suket_terbit']} Suket "
                "diterbitkan.",
        note_en=f"This period: {totals['ikd_aktif']} IKD activated, {totals['blanko_dihemat']} blanks saved "
                f"(IKD before any card was printed), {totals['ikd_dicabut']} revoked; {totals['suket_terbit']} "
                "Suket issued.",
    )
    return panel, totals


def turnaround_panel(rows: list[dict]) -> Panel:
    columns = [("week", "Minggu (Senin)", "Week (Monday)"), ("n", "Kartu diambil", "Cards collected")]
    for stage, (lid, len_) in STAGE_LABELS.items():
        columns += [(f"{stage}_p50", f"{lid} p50 (hari)", f"{len_} p50 (days)"),
                    (f"{stage}_p90", f"{lid} p90 (hari)", f"{len_} p90 (days)")]
    return Panel(
        id="waktu_layanan", title_id="Waktu layanan per minggu (p50/p90, hari)",
        title_en="Turnaround per week (p50/p90, days)", columns=cols(*columns), rows=rows,
        chart=Chart(kind="line", x="week", y_label_id="hari", y_label_en="days", series=[
            Series("total_p50", "Rekam → diambil p50", "Recording → collected p50", dash=[]),
            Series("total_p90", "Rekam → diambil p90", "Recording → collected p90", dash=[10, 5]),
            Series("rekam_prr_p90", "Rekam → PRR p90", "Recording → PRR p90", dash=[2, 3]),
            Series("prr_cetak_p90", "PRR → cetak p90", "PRR → printed p90", dash=[12, 3, 2, 3])]),
    )


def failures_panel(days: dict[dt.date, dict], *, period: Period) -> Panel:
    """EFAC by reason and DUP, from the day counts (so a year of enrollments is never rescanned)."""
    efac: dict[str, int] = {}
    dup = 0
    for d, v in days.items():
        if period.start <= d <= period.end:
            for reason, n in (v.get("reasons") or {}).items():
                efac[reason] = efac.get(reason, 0) + n
            dup += v["duplicate"]
    rows = [{"kode": "EFAC", "status": EnrollmentState.FAILED.value, "alasan": r, "jumlah": n}
            for r, n in sorted(efac.items(), key=lambda kv: -kv[1])]
    if dup:
        rows.append({"kode": "DUP", "status": EnrollmentState.DUPLICATE.value, "alasan": "data ganda", "jumlah": dup})
    return Panel(
        id="gagal_ganda", title_id="Gagal (EFAC) dan data ganda (DUP) menurut alasan",
        title_en="Failures (EFAC) and duplicates (DUP) by reason",
        columns=cols(("kode", "Kode", "Code"), ("alasan", "Alasan", "Reason"), ("jumlah", "Jumlah", "Count")),
        rows=rows,
        chart=Chart(kind="bar", x="alasan", series=[Series("jumlah", "Jumlah", "Count", pattern="hatch")]),
    )


def reachability_panels(session: Session, *, period: Period, now: dt.datetime) -> tuple[Panel, Panel]:
    outages = table("sync_outages", "started_at", "ended_at")
    lo, hi = day_start_utc(period.start), day_start_utc(period.end + dt.timedelta(days=1))
    listing, per_day = [], {d: 0.0 for d in period.days}
    if outages is not None:
        found = session.execute(
            select(outages.c.started_at, outages.c.ended_at, *([outages.c.cause] if "cause" in outages.c else []))
            .where(outages.c.started_at < hi, or_(outages.c.ended_at.is_(None), outages.c.ended_at >= lo))
            .order_by(outages.c.started_at)
        ).all()
        for row in found:
            start, end = as_utc(row[0]), as_utc(row[1])
            stop = end or now
            listing.append({"mulai": start.astimezone(WIB).strftime("%Y-%m-%d %H:%M"),
                            "selesai": end.astimezone(WIB).strftime("%Y-%m-%d %H:%M") if end else "masih terputus",
                            "jam": round((stop - start).total_seconds() / 3600, 1),
                            "sebab": row[2] if len(row) > 2 else ""})
            for d in period.days:
                a, b = max(start, day_start_utc(d)), min(stop, day_start_utc(d + dt.timedelta(days=1)))
                if b > a:
                    per_day[d] += (b - a).total_seconds() / 3600
    timeline = Panel(
        id="jangkauan_pusat", title_id="Keterhubungan ke pusat (jam terputus per hari)",
        title_en="Central reachability (hours unreachable per day)",
        columns=cols(("tanggal", "Tanggal", "Date"), ("jam_terputus", "Jam terputus", "Hours unreachable"),
                     ("jam_terhubung", "Jam terhubung", "Hours reachable")),
        rows=[{"tanggal": d.isoformat(), "jam_terputus": round(h, 1), "jam_terhubung": round(24 - h, 1)}
              for d, h in per_day.items()] if outages is not None else [],
        chart=Chart(kind="bar", x="tanggal", stacked=True, y_label_id="jam", y_label_en="hours", series=[
            Series("jam_terputus", "Terputus (gangguan)", "Unreachable (outage)", pattern="hatch"),
            Series("jam_terhubung", "Terhubung", "Reachable", pattern="none")]),
        available=outages is not None,
    )
    log = Panel(
        id="gangguan", title_id="Daftar gangguan", title_en="Outages",
        columns=cols(("mulai", "Mulai", "Start"), ("selesai", "Selesai", "End"), ("jam", "Lama (jam)", "Hours"),
                     ("sebab", "Sebab", "Cause")),
        rows=listing, available=outages is not None,
    )
    return timeline, log


def daily_panel(days: dict[dt.date, dict], *, period: Period) -> Panel:
    labels = [("recordings", "Rekam", "Recorded"), ("queued", "Antre", "Queued"), ("sent", "SFE", "Sent"),
              ("prr", "PRR", "PRR"), ("failed", "EFAC", "Failed"), ("duplicate", "DUP", "Duplicate"),
              ("printed", "Cetak", "Printed"), ("issued", "Diambil", "Issued"), ("spoiled", "Rusak", "Spoiled"),
              ("blanks_received", "Blanko masuk", "Blanks received")]
    return Panel(
        id="harian", title_id="Angka harian", title_en="Daily figures",
        columns=cols(("tanggal", "Tanggal", "Date"), *labels),
        rows=[{"tanggal": d.isoformat(), **{k: v[k] for k, *_ in labels}}
              for d, v in days.items() if period.start <= d <= period.end],
        chart=Chart(kind="bar", x="tanggal", series=[
            Series("recordings", "Rekam", "Recorded", pattern="solid"),
            Series("printed", "Cetak", "Printed", pattern="hatch"),
            Series("issued", "Diambil", "Issued", pattern="dots")]),
    )


def office_dashboard(session: Session, *, office_code: str, period: Period, today: dt.date,
                     now: dt.datetime) -> dict:
    """Every panel of the office dashboard for the period (a dict of Panel by id, plus headline numbers)."""
    first = min(period.start, today - dt.timedelta(days=RATE_DAYS), week_start(today))
    days = daily_mod.daily_counts(session, office_code=office_code, start=first, end=today, today=today, now=now)
    backlog = backlog_now(session, office_code=office_code)
    blanks = blanks_now(session)
    queued_now = session.scalar(select(func.count()).select_from(EnrollmentRow).where(
        and_((EnrollmentRow.office_code + "") == office_code, EnrollmentRow.state.in_((EnrollmentState.CAPTURED.value, EnrollmentState.QUEUED.value))))) or 0
    outbox = table("sync_outbox", "state")
    packets_queued = None
    if outbox is not None:
        packets_queued = session.scalar(select(func.count()).select_from(outbox).where(outbox.c.state == PacketState.QUEUED.value)) or 0
    timeline, outage_log = reachability_panels(session, period=period, now=now)
    waiting = waiting_by_class(session, office_code=office_code, today=today)
    field, field_totals = field_panel(session, office_code=office_code, period=period)
    panels = [
        today_panel(days, today=today, queued_now=queued_now, packets_queued=packets_queued),
        Panel(id="menunggu", title_id="Warga menunggu kartu menurut kelas prioritas",
              title_en="Residents waiting for a card by priority class",
              columns=cols(("label", "Kelas", "Class"), ("jumlah", "Jumlah", "Count")), rows=waiting,
              chart=Chart(kind="bar", x="label", series=[Series("jumlah", "Menunggu", "Waiting", pattern="dots")]),
              note_id="Kelas tertinggi menurut kebijakan prioritas cetak (umur otomatis + yang dicatat di loket).",
              note_en="Highest class under the print priority policy (age, plus what the counter recorded)."),
        stock_panel(days, today=today, blanks=blanks, backlog=backlog),
        field,
        series_panel(days, period=period, backlog=backlog, blanks=blanks),
        turnaround_panel(weekly_turnaround(session, office_code=office_code, start=period.start,
                                           end=period.end, today=today)),
        failures_panel(days, period=period),
        timeline, outage_log,
        daily_panel(days, period=period),
    ]
    return {"panels": {p.id: p for p in panels}, "backlog": backlog, "blanks": blanks, "ikd": field_totals,
            "today": today.isoformat()}
