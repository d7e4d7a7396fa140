"""The central dashboard (dasbor pusat): every regency side by side, the pipeline and adjudication queues.

Reads the sync and central capabilities' tables by name (see sources.py): a table that is not there
yet gives a panel marked "belum ada data", never an error page.
"""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, aliased

from ktpel.domain.ikd import IkdState
from ktpel.domain.national_record import NationalRecordState
from ktpel.reports.panels import Chart, Panel, Series, cols
from ktpel.reports.period import Period, day_start_utc, percentile
from ktpel.reports.sources import as_date, as_utc, local_day, table

RATE_DAYS = 14
LATENCY_DAYS = 7  # a week: enough runs for a stable p90 even after a quiet Sunday
TOP_PAIRS = 25  # the pairs that matter; the long tail is in no one's plan


def _name(regions, code: str) -> str:  # noqa: ANN001
    # a code the registry does not know (or no registry) is shown as the code itself
    return regions[code].name if regions is not None and code in regions else code


def _allocations(session: Session, events) -> dict[str, int]:  # noqa: ANN001
    """Blanks allocated per office, from central's `blanks.allocated` events (their data is encrypted JSON)."""
    out: dict[str, int] = {}
    for office, data in session.execute(select(events.c.office_code, events.c.data).where(events.c.kind == "blanks.allocated")):
        try:
            body = json.loads(data) if isinstance(data, str) else (data or {})
        except ValueError:
            continue
        n = body.get("count") or body.get("quantity") or len(body.get("serials") or [])
        out[office] = out.get(office, 0) + int(n or 0)
    return out


def regency_panel(session: Session, *, period: Period, now: dt.datetime, regions) -> Panel:  # noqa: ANN001
    records = table("central_records", "office_code", "state", "captured_at", "decided_at")
    if records is None:
        return Panel(id="kabupaten", title_id="Per kabupaten/kota", title_en="Per regency", columns=[], rows=[],
                     available=False)
    packets = table("central_packets", "office_code", "kind", "received_at")
    events = table("central_events", "office_code", "kind", "data")
    offices = table("sync_offices", "office_code", "last_seen_at")
    cases = table("central_duplicate_cases", "record_a", "opened_at")
    lo, hi = day_start_utc(period.start), day_start_utc(period.end + dt.timedelta(days=1))
    stats: dict[str, dict] = {}

    def row(code: str) -> dict:
        return stats.setdefault(code, {"kode": code, "kabupaten": _name(regions, code), "diterima": 0, "prr": 0,
                                       "dicetak": 0, "backlog": 0, "blanko": None, "hari_sampai_habis": None,
                                       "waktu_p90_hari": None, "data_ganda": 0, "terakhir_terhubung": "",
                                       "jam_tanpa_kontak": None})

    for code, state, n in session.execute(select(records.c.office_code, records.c.state, func.count())
                                          .group_by(records.c.office_code, records.c.state)):
        r = row(code)
        r["diterima"] += n
        if state == NationalRecordState.PRINT_READY.value:
            r["prr"] += n
    printed_recent: dict[str, int] = {}
    since = now - dt.timedelta(days=RATE_DAYS)
    reports = table("printed_reports", "office_code", "printed_at")
    if reports is not None:  # the allocation capability's ledger of serials offices reported printed
        for code, n in session.execute(select(reports.c.office_code, func.count()).group_by(reports.c.office_code)):
            row(code)["dicetak"] = n
        printed_recent = dict(session.execute(
            select(reports.c.office_code, func.count()).where(reports.c.printed_at >= since)
            .group_by(reports.c.office_code)).all())
    elif packets is not None:
        for code, n in session.execute(select(packets.c.office_code, func.count())
                                       .where(packets.c.kind == "card.printed").group_by(packets.c.office_code)):
            row(code)["dicetak"] = n
        printed_recent = dict(session.execute(
            select(packets.c.office_code, func.count())
            .where(packets.c.kind == "card.printed", packets.c.received_at >= since).group_by(packets.c.office_code)).all())
    plans = table("blank_allocations", "regency_code", "blanks", "published")
    if plans is not None:
        allocated = {code: int(n or 0) for code, n in session.execute(
            select(plans.c.regency_code, func.sum(plans.c.blanks)).where(plans.c.published.is_(True))
            .group_by(plans.c.regency_code))}
    else:
        allocated = _allocations(session, events) if events is not None else {}
    for code, r in stats.items():
        r["backlog"] = max(0, r["prr"] - r["dicetak"])
        if code in allocated:
            r["blanko"] = max(0, allocated[code] - r["dicetak"])
            rate = printed_recent.get(code, 0) / RATE_DAYS
            r["hari_sampai_habis"] = round(r["blanko"] / rate, 1) if rate > 0 else None
    samples: dict[str, list[float]] = {}
    for code, captured, decided in session.execute(
        select(records.c.office_code, records.c.captured_at, records.c.decided_at)
        .where(records.c.state == NationalRecordState.PRINT_READY.value, records.c.decided_at >= lo, records.c.decided_at < hi)
    ):
        samples.setdefault(code, []).append((as_utc(decided) - as_utc(captured)).total_seconds() / 86400)
    for code, values in samples.items():
        p = percentile(values, 0.9)
        row(code)["waktu_p90_hari"] = None if p is None else round(p, 1)
    if cases is not None:
        a = aliased(records)
        for code, n in session.execute(select(a.c.office_code, func.count()).select_from(cases)
                                       .join(a, a.c.id == cases.c.record_a)
                                       .where(cases.c.opened_at >= lo, cases.c.opened_at < hi).group_by(a.c.office_code)):
            row(code)["data_ganda"] = n
    if offices is not None:
        for code, seen in session.execute(select(offices.c.office_code, offices.c.last_seen_at)):
            r = row(code)
            if seen is not None:
                seen = as_utc(seen)
                r["terakhir_terhubung"] = seen.isoformat(timespec="minutes")
                r["jam_tanpa_kontak"] = round((now - seen).total_seconds() / 3600, 1)
    return Panel(
        id="kabupaten", title_id="Per kabupaten/kota", title_en="Per regency",
        columns=cols(("kode", "Kode", "Code"), ("kabupaten", "Kabupaten/Kota", "Regency"),
                     ("diterima", "Rekaman diterima", "Records received"), ("prr", "PRR", "PRR"),
                     ("dicetak", "Dicetak", "Printed"), ("backlog", "Siap cetak belum dicetak", "Print backlog"),
                     ("blanko", "Blanko tersedia", "Blanks on hand"),
                     ("blanko_dihemat_ikd", "Blanko dihemat (IKD, periode)", "Blanks saved (IKD, period)"),
                     ("hari_sampai_habis", "Hari sampai habis", "Days to stock-out"),
                     ("waktu_p90_hari", "Rekam → PRR p90 (hari)", "Recording → PRR p90 (days)"),
                     ("data_ganda", "Data ganda", "Duplicates"),
                     ("terakhir_terhubung", "Terakhir terhubung", "Last contact"),
                     ("jam_tanpa_kontak", "Jam tanpa kontak", "Hours without contact")),
        rows=sorted(stats.values(), key=lambda r: r["kode"]),
        chart=Chart(kind="bar", x="kabupaten", series=[
            Series("backlog", "Siap cetak belum dicetak", "Print backlog", pattern="solid"),
            Series("blanko", "Blanko tersedia", "Blanks on hand", pattern="hatch"),
            Series("data_ganda", "Data ganda", "Duplicates", pattern="dots")]),
        note_id="Blanko dari alokasi pusat dikurangi kartu yang dilaporkan tercetak.",
        note_en="Blanks = central's allocations minus cards reported printed.",
    )


def pipeline_panels(session: Session, *, period: Period, now: dt.datetime) -> list[Panel]:
    jobs = table("central_jobs", "status", "enqueued_at", "finished_at")
    runs = table("central_stage_runs", "stage", "duration_ms", "finished_at")
    lo, hi = day_start_utc(period.start), day_start_utc(period.end + dt.timedelta(days=1))
    through_rows: list[dict] = []
    queue_rows: list[dict] = []
    if jobs is not None:
        day = local_day(session, jobs.c.finished_at)
        per_day = {as_date(d): n for d, n in session.execute(
            select(day, func.count()).where(jobs.c.finished_at >= lo, jobs.c.finished_at < hi).group_by(day))}
        through_rows = [{"tanggal": d.isoformat(), "selesai": per_day.get(d, 0)} for d in period.days]
        waiting = session.execute(select(func.count(), func.min(jobs.c.enqueued_at))
                                  .where(jobs.c.status.in_(("queued", "running")))).one()
        oldest = as_utc(waiting[1])
        queue_rows = [{"antrean": waiting[0] or 0,
                       "tertua": oldest.isoformat(timespec="minutes") if oldest else "",
                       "umur_tertua_jam": round((now - oldest).total_seconds() / 3600, 1) if oldest else None,
                       "mati": session.scalar(select(func.count()).select_from(jobs).where(jobs.c.status == "dead")) or 0}]
    latency_rows: list[dict] = []
    if runs is not None:
        by_stage: dict[str, list[float]] = {}
        for stage, ms in session.execute(select(runs.c.stage, runs.c.duration_ms)
                                         .where(runs.c.finished_at >= now - dt.timedelta(days=LATENCY_DAYS)).limit(200_000)):
            by_stage.setdefault(stage, []).append(float(ms or 0))
        latency_rows = [{"tahap": s, "n": len(v), "p50_ms": round(percentile(v, 0.5), 1),
                         "p90_ms": round(percentile(v, 0.9), 1)} for s, v in sorted(by_stage.items())]
    return [
        Panel(id="throughput", title_id="Throughput pipeline (rekaman selesai per hari)",
              title_en="Pipeline throughput (records finished per day)",
              columns=cols(("tanggal", "Tanggal", "Date"), ("selesai", "Selesai", "Finished")), rows=through_rows,
              chart=Chart(kind="line", x="tanggal", series=[Series("selesai", "Selesai", "Finished")]),
              available=jobs is not None),
        Panel(id="antrean_pipeline", title_id="Antrean pipeline dan item tertua", title_en="Pipeline queue and oldest item",
              columns=cols(("antrean", "Dalam antrean", "Queued"), ("tertua", "Item tertua sejak", "Oldest since"),
                           ("umur_tertua_jam", "Umur tertua (jam)", "Oldest age (hours)"),
                           ("mati", "Gagal permanen", "Dead")),
              rows=queue_rows, available=jobs is not None),
        Panel(id="latensi_tahap", title_id=f"Latensi tahap pipeline ({LATENCY_DAYS} hari)", title_en=f"Pipeline stage latency ({LATENCY_DAYS} days)",
              columns=cols(("tahap", "Tahap", "Stage"), ("n", "Jumlah", "Runs"), ("p50_ms", "p50 (ms)", "p50 (ms)"),
                           ("p90_ms", "p90 (ms)", "p90 (ms)")),
              rows=latency_rows, available=runs is not None,
              chart=Chart(kind="bar", x="tahap", series=[Series("p50_ms", "p50", "p50", pattern="solid"),
                                                         Series("p90_ms", "p90", "p90", pattern="hatch")])),
    ]


def adjudication_panel(session: Session, *, now: dt.datetime) -> Panel:
    adj = table("central_adjudications", "status", "created_at", "decided_at")
    rows: list[dict] = []
    if adj is not None:
        ages = [(now - as_utc(c)).total_seconds() / 3600 for (c,) in session.execute(
            select(adj.c.created_at).where(adj.c.decided_at.is_(None)).limit(200_000))]
        buckets = [("< 1 hari", "< 1 day", 0, 24), ("1–3 hari", "1–3 days", 24, 72),
                   ("3–7 hari", "3–7 days", 72, 168), ("> 7 hari", "> 7 days", 168, float("inf"))]
        rows = [{"umur": lid, "umur_en": len_, "jumlah": sum(1 for a in ages if lo_ <= a < hi_)}
                for lid, len_, lo_, hi_ in buckets]
        for r in rows:
            r["tertua_jam"] = round(max(ages), 1) if ages else None
    return Panel(id="adjudikasi", title_id="Antrean adjudikasi menurut umur", title_en="Adjudication backlog by age",
                 columns=cols(("umur", "Umur", "Age"), ("jumlah", "Menunggu", "Waiting"),
                              ("tertua_jam", "Tertua (jam)", "Oldest (hours)")),
                 rows=rows, available=adj is not None,
                 chart=Chart(kind="bar", x="umur", series=[Series("jumlah", "Menunggu", "Waiting", pattern="hatch")]))


def duplicate_pairs_panel(session: Session, *, period: Period, regions) -> Panel:  # noqa: ANN001
    cases = table("central_duplicate_cases", "record_a", "record_b", "opened_at")
    records = table("central_records", "id", "office_code")
    rows: list[dict] = []
    if cases is not None and records is not None:
        a, b = aliased(records), aliased(records)
        lo, hi = day_start_utc(period.start), day_start_utc(period.end + dt.timedelta(days=1))
        counts: dict[tuple[str, str], int] = {}
        for ca, cb in session.execute(select(a.c.office_code, b.c.office_code).select_from(cases)
                                      .join(a, a.c.id == cases.c.record_a).join(b, b.c.id == cases.c.record_b)
                                      .where(cases.c.opened_at >= lo, cases.c.opened_at < hi)):
            pair = tuple(sorted((ca, cb)))
            counts[pair] = counts.get(pair, 0) + 1
        rows = [{"wilayah_a": _name(regions, p[0]), "wilayah_b": _name(regions, p[1]),
                 "pasangan": f"{_name(regions, p[0])} – {_name(regions, p[1])}", "jumlah": n}
                for p, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))][:TOP_PAIRS]
    return Panel(id="pasangan_ganda", title_id="Data ganda menurut pasangan wilayah",
                 title_en="Duplicate pairs by region pair",
                 note_id=f"{TOP_PAIRS} pasangan terbanyak.", note_en=f"The {TOP_PAIRS} most frequent pairs.",
                 columns=cols(("wilayah_a", "Wilayah A", "Region A"), ("wilayah_b", "Wilayah B", "Region B"),
                              ("jumlah", "Pasangan", "Pairs")),
                 rows=rows, available=cases is not None and records is not None,
                 chart=Chart(kind="bar", x="pasangan", series=[Series("jumlah", "Pasangan", "Pairs", pattern="dots")]))


def outage_panel(session: Session, *, period: Period, regions) -> Panel:  # noqa: ANN001
    """Connection outages per regency in the period, as the offices reported them once back online."""
    packets = table("central_packets", "office_code", "kind", "payload", "received_at")
    lo, hi = day_start_utc(period.start), day_start_utc(period.end + dt.timedelta(days=1))
    stats: dict[str, dict] = {}
    if packets is not None:
        # a report arrives after its outage ended: older packets cannot fall in the period (payloads are
        # encrypted, so the end time itself is only read after the query)
        for code, payload in session.execute(select(packets.c.office_code, packets.c.payload)
                                             .where(packets.c.kind == "outage.report", packets.c.received_at >= lo)):
            try:
                p = json.loads(payload)
                started, ended = dt.datetime.fromisoformat(p["started_at"]), dt.datetime.fromisoformat(p["ended_at"])
            except (ValueError, KeyError, TypeError):
                continue  # a malformed report says nothing about the period
            if not (lo <= as_utc(ended) < hi):
                continue
            hours = max(0.0, (ended - started).total_seconds() / 3600)
            r = stats.setdefault(code, {"kode": code, "kabupaten": _name(regions, code), "jumlah": 0,
                                        "total_jam": 0.0, "terlama_jam": 0.0, "terakhir_selesai": ""})
            r["jumlah"] += 1
            r["total_jam"] = round(r["total_jam"] + hours, 1)
            r["terlama_jam"] = round(max(r["terlama_jam"], hours), 1)
            r["terakhir_selesai"] = max(r["terakhir_selesai"], as_utc(ended).isoformat(timespec="minutes"))
    return Panel(
        id="gangguan", title_id="Gangguan koneksi per kabupaten/kota", title_en="Connection outages per regency",
        columns=cols(("kode", "Kode", "Code"), ("kabupaten", "Kabupaten/Kota", "Regency"),
                     ("jumlah", "Gangguan", "Outages"), ("total_jam", "Total (jam)", "Total (hours)"),
                     ("terlama_jam", "Terlama (jam)", "Longest (hours)"),
                     ("terakhir_selesai", "Terakhir pulih", "Last restored")),
        rows=sorted(stats.values(), key=lambda r: (-r["total_jam"], r["kode"])), available=packets is not None,
        chart=Chart(kind="bar", x="kabupaten", series=[Series("total_jam", "Total (jam)", "Total (hours)",
                                                              pattern="hatch")]),
        note_id="Dilaporkan kantor setelah koneksi pulih; gangguan yang masih berlangsung tampak di "
                "\u201cjam tanpa kontak\u201d.",
        note_en="Reported by each office once it is back online; an outage still going on shows as "
                "hours without contact.")


def ikd_panel(session: Session, *, period: Period, regions) -> tuple[Panel, dict]:  # noqa: ANN001
    """IKD activated per regency in the period, as the offices reported them (`central_ikd`), and the national total.

    An activation before any card was printed is a blank the office did not spend: the national total of those
    is the blanks saved.
    """
    ikd = table("central_ikd", "office_code", "state", "saves_blank", "activated_at", "revoked_at")
    lo, hi = day_start_utc(period.start), day_start_utc(period.end + dt.timedelta(days=1))
    stats: dict[str, dict] = {}

    def row(code: str) -> dict:
        return stats.setdefault(code, {"kode": code, "kabupaten": _name(regions, code), "ikd_aktif": 0,
                                       "blanko_dihemat": 0, "ikd_dicabut": 0, "ikd_aktif_kini": 0})

    if ikd is not None:
        in_period = (ikd.c.activated_at >= lo, ikd.c.activated_at < hi)
        for code, n, saved in session.execute(
                select(ikd.c.office_code, func.count(), func.sum(case((ikd.c.saves_blank.is_(True), 1), else_=0)))
                .where(*in_period).group_by(ikd.c.office_code)):
            row(code).update(ikd_aktif=int(n), blanko_dihemat=int(saved or 0))
        for code, n in session.execute(select(ikd.c.office_code, func.count())
                                       .where(ikd.c.revoked_at >= lo, ikd.c.revoked_at < hi)
                                       .group_by(ikd.c.office_code)):
            row(code)["ikd_dicabut"] = int(n)
        for code, n in session.execute(select(ikd.c.office_code, func.count())
                                       .where(ikd.c.state == IkdState.ACTIVE.value).group_by(ikd.c.office_code)):
            row(code)["ikd_aktif_kini"] = int(n)
    national = {k: sum(r[k] for r in stats.values())
                for k in ("ikd_aktif", "blanko_dihemat", "ikd_dicabut", "ikd_aktif_kini")}
    panel = Panel(
        id="ikd", title_id="IKD diaktifkan per kabupaten/kota (blanko dihemat)",
        title_en="IKD activated per regency (blanks saved)",
        columns=cols(("kode", "Kode", "Code"), ("kabupaten", "Kabupaten/Kota", "Regency"),
                     ("ikd_aktif", "IKD diaktifkan", "IKD activated"), ("blanko_dihemat", "Blanko dihemat", "Blanks saved"),
                     ("ikd_dicabut", "IKD dicabut", "IKD revoked"), ("ikd_aktif_kini", "IKD aktif kini", "IKD active now")),
        rows=sorted(stats.values(), key=lambda r: r["kode"]), available=ikd is not None,
        chart=Chart(kind="bar", x="kabupaten", series=[
            Series("ikd_aktif", "IKD diaktifkan", "IKD activated", pattern="solid"),
            Series("blanko_dihemat", "Blanko dihemat", "Blanks saved", pattern="hatch")]),
        note_id=f"Nasional periode ini: {national['ikd_aktif']} IKD diaktifkan, {national['blanko_dihemat']} blanko "
                "dihemat (IKD sebelum kartu dicetak).",
        note_en=f"National, this period: {national['ikd_aktif']} IKD activated, {national['blanko_dihemat']} blanks "
                "saved (IKD before any card was printed).")
    return panel, national


def central_dashboard(session: Session, *, period: Period, now: dt.datetime, regions=None) -> dict:  # noqa: ANN001
    """Every panel of the central dashboard for the period."""
    ikd, ikd_national = ikd_panel(session, period=period, regions=regions)
    regency = regency_panel(session, period=period, now=now, regions=regions)
    saved = {r["kode"]: r["blanko_dihemat"] for r in ikd.rows}
    for r in regency.rows:  # blanks saved by IKD, beside the blanks on hand
        r["blanko_dihemat_ikd"] = saved.get(r["kode"], 0)
    blanks = [r["blanko"] for r in regency.rows if r.get("blanko") is not None]
    panels = [regency, ikd,
              outage_panel(session, period=period, regions=regions),
              *pipeline_panels(session, period=period, now=now),
              adjudication_panel(session, now=now),
              duplicate_pairs_panel(session, period=period, regions=regions)]
    return {"panels": {p.id: p for p in panels}, "ikd": ikd_national,
            "blanks": sum(blanks) if blanks else None}



