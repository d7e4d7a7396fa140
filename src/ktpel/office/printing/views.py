"""Print queue, print jobs, blank ledger, pickup and the public priority policy (pages and JSON API)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from starlette.datastructures import UploadFile

from ktpel.domain import clock
from ktpel.domain.blanks import SpoilReason
from ktpel.domain.errors import KtpelError, NotFound
from ktpel.office.printing import ledger, pickup, reports, service
from ktpel.office.printing.drivers import PrintingConfig
from ktpel.security.access import OFFICE_ROLES, Role, User, public, requires
from ktpel.store.schema.printing import PrintJobRow
from ktpel.web.problems import status_for
from ktpel.web.templating import render
from ktpel.web.params import Limit
from ktpel.office.printing.schemas import BlankStock, PrintJobOutcome, PrintJobStarted, PrintQueue

router = APIRouter()
officers = requires(*OFFICE_ROLES)
managers = requires(Role.SUPERVISOR, Role.HEAD)
head = requires(Role.HEAD)

NOTICES = {
    "hadir": ("Penduduk masuk antrean cetak.", "The resident joined the print queue."),
    "terkirim": ("Kartu dikirim ke printer. Periksa hasilnya lalu konfirmasi.",
                 "Card sent to the printer. Check it, then confirm."),
    "tercetak": ("Kartu tercetak dan dicatat; laporan ke pusat diantrekan.",
                 "Card printed and recorded; the report to central is queued."),
    "rusak": ("Blanko dicatat rusak; kartu bisa dicetak ulang.", "Blank recorded as spoiled; the card can print again."),
    "batal": ("Pekerjaan cetak dibatalkan; blanko kembali ke stok.", "Print job cancelled; blank back in stock."),
    "diterima": ("Batch blanko diterima.", "Blank batch received."),
    "aturan": ("Aturan cetak diubah.", "Printing rule changed."),
    "diserahkan": ("Sidik jari cocok: kartu diserahkan.", "Fingerprint matched: card handed over."),
    "keluar": ("Penduduk keluar dari antrean.", "The resident left the queue."),
    "kembali": ("Blanko dicatat dikembalikan ke pusat.", "Blank recorded as returned to central."),
}


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _config(request: Request) -> PrintingConfig:
    return getattr(request.app.state, "printing_config", None) or PrintingConfig()


def _back(url: str, notice: str) -> RedirectResponse:
    return RedirectResponse(f"{url}?ok={notice}", status_code=303)


def _queue_page(request: Request, *, error: KtpelError | None = None, status: int = 200,  # noqa: ANN202
                extra: dict | None = None):
    settings = request.app.state.settings
    policy = service.current_policy(_config(request))
    with request.app.state.db.unit_of_work() as s:
        view = service.print_queue(s, regency_code=settings.office_regency, policy=policy)
        jobs = service.open_jobs(s)
        recent = service.recent_jobs(s, limit=10)
        reports_state = service.report_states(s, jobs=recent)
        people = service.holders(s, card_ids=[j.card_id for j in [*jobs, *recent]])
    return render(request, "printing/queue.html", {
        "view": view, "jobs": jobs, "recent": recent, "error": error, "reasons": list(SpoilReason),
        "reports_state": reports_state, "people": people, **(extra or {}),
        "notice": NOTICES.get(request.query_params.get("ok", "")),
    }, status_code=status)


def _fail(request: Request, exc: KtpelError):  # noqa: ANN202
    return _queue_page(request, error=exc, status=status_for(exc))


@router.get("/cetak", include_in_schema=False, dependencies=[Depends(officers)])
def queue_page(request: Request):  # noqa: ANN201
    """The print queue in priority order, open print jobs, and stock on hand."""
    return _queue_page(request)


@router.post("/cetak/hadir", include_in_schema=False)
async def mark_present(request: Request, user: User = Depends(officers)):  # noqa: ANN201
    form = await request.form()
    settings = request.app.state.settings
    classes = [str(c) for c in form.getlist("kelas")]
    via = "appointment" if form.get("via") == "appointment" else "counter"
    appt = dt.date.fromisoformat(str(form["tanggal"])) if via == "appointment" and form.get("tanggal") else None
    try:
        with request.app.state.db.unit_of_work() as s:
            card = service.card_for_nik(s, nik=str(form.get("nik", "")).strip(),
                                        regency_code=settings.office_regency)
            service.mark_present(s, card_id=card.id, regency_code=settings.office_regency, actor=user.username,
                                 classes=classes, proof_notes={"bukti": str(form.get("bukti", ""))[:300]},
                                 via=via, appointment_on=appt, policy=service.current_policy(_config(request)),
                                 source_ip=_ip(request))
    except KtpelError as exc:
        return _fail(request, exc)
    return _back("/cetak", "hadir")


@router.post("/cetak/{card_id}/keluar", include_in_schema=False)
def leave(card_id: str, request: Request, user: User = Depends(officers)):  # noqa: ANN201
    with request.app.state.db.unit_of_work() as s:
        service.leave_queue(s, card_id=card_id, actor=user.username)
    return _back("/cetak", "keluar")


@router.post("/cetak/{card_id}/cetak", include_in_schema=False)
async def start_print(card_id: str, request: Request, user: User = Depends(officers)):  # noqa: ANN201
    form = await request.form()
    serial = str(form.get("serial", "")).strip().upper() or None
    skip_reason = str(form.get("alasan_lewati", "")).strip()[:300]
    ahead = _ahead_of(request, card_id)
    if ahead and not skip_reason:
        # printing past someone higher in the policy's order is allowed, but only on purpose and with a reason
        return _queue_page(request, status=409, extra={"skip": {"card_id": card_id, "serial": serial or "",
                                                                 "ahead": ahead}})
    try:
        with request.app.state.db.unit_of_work() as s:
            if ahead:
                from ktpel.security.audit import record_audit

                record_audit(s, actor=user.username, action="print.out_of_order", subject=card_id,
                             after={"reason": skip_reason, "ahead": [e.ranked.candidate.card_id for e in ahead]},
                             source_ip=_ip(request))
            service.start_print(s, card_id=card_id, regency_code=request.app.state.settings.office_regency,
                                settings=request.app.state.settings, actor=user.username, serial=serial,
                                config=_config(request), source_ip=_ip(request))
    except KtpelError as exc:
        return _fail(request, exc)
    return _back("/cetak", "terkirim")


def _ahead_of(request: Request, card_id: str) -> list:
    """The printable entries the policy puts before this card (empty when it is next in line)."""
    settings = request.app.state.settings
    with request.app.state.db.unit_of_work() as s:
        view = service.print_queue(s, regency_code=settings.office_regency,
                                   policy=service.current_policy(_config(request)))
    ahead = []
    for e in view.entries:
        if e.ranked.candidate.card_id == card_id:
            return ahead
        if e.ranked.printable:
            ahead.append(e)
    return []


@router.post("/cetak/job/{job_id}/{outcome}", include_in_schema=False)
async def finish_job(job_id: str, outcome: str, request: Request, user: User = Depends(officers)):  # noqa: ANN201
    form = await request.form()
    regency = request.app.state.settings.office_regency
    try:
        with request.app.state.db.unit_of_work() as s:
            if outcome == "berhasil":
                service.confirm_printed(s, job_id=job_id, regency_code=regency, actor=user.username,
                                        source_ip=_ip(request))
                notice = "tercetak"
            elif outcome == "rusak":
                service.confirm_spoiled(s, job_id=job_id, regency_code=regency, actor=user.username,
                                        reason=str(form.get("alasan", "misprint")), source_ip=_ip(request))
                notice = "rusak"
            elif outcome == "batal":
                service.cancel_job(s, job_id=job_id, regency_code=regency, actor=user.username)
                notice = "batal"
            else:
                raise NotFound("Tindakan tidak dikenal.", f"Unknown outcome {outcome}.")
    except KtpelError as exc:
        return _fail(request, exc)
    return _back("/cetak", notice)


@router.get("/cetak/job/{job_id}.pdf", include_in_schema=False, dependencies=[Depends(officers)])
def job_pdf(job_id: str, request: Request) -> Response:
    """The PDF a spool job wrote (to look at, or to print again on the same blank)."""
    with request.app.state.db.unit_of_work() as s:
        job = s.get(PrintJobRow, job_id)
    if job is None or job.driver != "spool" or not Path(job.destination).is_file():
        raise NotFound("Berkas cetak tidak ada.", "No spooled file for this job.")
    return Response(Path(job.destination).read_bytes(), media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{job_id}.pdf"'})


@router.get("/cetak/kartu/{card_id}/pratinjau.png", include_in_schema=False, dependencies=[Depends(officers)])
def preview(card_id: str, request: Request) -> Response:
    with request.app.state.db.unit_of_work() as s:
        png = service.preview_card(s, card_id=card_id, regency_code=request.app.state.settings.office_regency,
                                   settings=request.app.state.settings)
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


@router.post("/cetak/aturan-hadir", include_in_schema=False)
async def present_rule(request: Request, user: User = Depends(head)):  # noqa: ANN201
    """Head of office only: print only residents present (default) or any authorised card."""
    form = await request.form()
    with request.app.state.db.unit_of_work() as s:
        service.set_present_only(s, enabled=form.get("hadir_saja") == "1", actor=user.username,
                                 source_ip=_ip(request))
    return _back("/cetak", "aturan")


# --- blank ledger ----------------------------------------------------------------------------------------

def _day(raw: str | None) -> dt.date:
    try:
        return dt.date.fromisoformat(raw) if raw else clock.today_wib()
    except ValueError:
        raise KtpelError("Tanggal tidak valid (TTTT-BB-HH).", "Date is not valid (YYYY-MM-DD).",
                         code="date_invalid") from None


def _blanks_page(request: Request, *, error: KtpelError | None = None, status: int = 200):  # noqa: ANN202
    policy = service.current_policy(_config(request))
    day = _day(request.query_params.get("tanggal"))
    state = request.query_params.get("status") or None
    with request.app.state.db.unit_of_work() as s:
        stock = ledger.stock(s, reserve_share=policy.urgent_reserve_share)
        balance = ledger.day_balance(s, day=day)
        batches = ledger.batches(s)
        blanks = ledger.blanks_page(s, state=state, limit=200)
    return render(request, "printing/blanks.html", {
        "stock": stock, "balance": balance, "batches": batches, "blanks": blanks, "day": day, "state": state,
        "error": error, "reasons": list(SpoilReason), "notice": NOTICES.get(request.query_params.get("ok", "")),
    }, status_code=status)


@router.get("/blanko", include_in_schema=False, dependencies=[Depends(officers)])
def blanks_page(request: Request):  # noqa: ANN201
    """Stock on hand, days to stock-out, batches, the day's reconciliation."""
    return _blanks_page(request)


@router.post("/blanko/terima", include_in_schema=False)
async def receive(request: Request, user: User = Depends(managers)):  # noqa: ANN201
    form = await request.form()
    try:
        with request.app.state.db.unit_of_work() as s:
            service.receive_blanks(s, first_serial=str(form.get("awal", "")), last_serial=str(form.get("akhir", "")),
                                   actor=user.username, source_ip=_ip(request))
    except KtpelError as exc:
        return _blanks_page(request, error=exc, status=status_for(exc))
    return _back("/blanko", "diterima")


@router.post("/blanko/{serial}/rusak", include_in_schema=False)
async def spoil(serial: str, request: Request, user: User = Depends(managers)):  # noqa: ANN201
    """A blank found damaged in stock (not in a print job)."""
    form = await request.form()
    try:
        with request.app.state.db.unit_of_work() as s:
            ledger.spoil_blank(s, serial=serial, reason=SpoilReason(str(form.get("alasan", "damaged"))),
                               actor=user.username)
            from ktpel.security.audit import record_audit

            record_audit(s, actor=user.username, action="blanks.spoiled", subject=f"blank:{serial}",
                         after={"reason": str(form.get("alasan", "damaged"))}, source_ip=_ip(request))
    except (KtpelError, ValueError) as exc:
        err = exc if isinstance(exc, KtpelError) else KtpelError("Alasan tidak dikenal.", "Unknown reason.")
        return _blanks_page(request, error=err, status=status_for(err))
    return _back("/blanko", "rusak")


@router.post("/blanko/{serial}/kembali", include_in_schema=False)
def give_back(serial: str, request: Request, user: User = Depends(managers)):  # noqa: ANN201
    """An unused blank sent back to central."""
    try:
        with request.app.state.db.unit_of_work() as s:
            service.return_blank(s, serial=serial, actor=user.username, source_ip=_ip(request))
    except KtpelError as exc:
        return _blanks_page(request, error=exc, status=status_for(exc))
    return _back("/blanko", "kembali")


@router.get("/blanko/rekonsiliasi.csv", include_in_schema=False, dependencies=[Depends(managers)])
def reconciliation_csv(request: Request, tanggal: str | None = None) -> Response:
    day = _day(tanggal)
    with request.app.state.db.unit_of_work() as s:
        balance, moves = reports.reconciliation(s, day=day)
    body = reports.reconciliation_csv(balance, moves, office=request.app.state.settings.office_name)
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="rekonsiliasi-blanko-{day}.csv"'})


@router.get("/blanko/rekonsiliasi.pdf", include_in_schema=False, dependencies=[Depends(managers)])
def reconciliation_pdf(request: Request, tanggal: str | None = None) -> Response:
    day = _day(tanggal)
    with request.app.state.db.unit_of_work() as s:
        balance, moves = reports.reconciliation(s, day=day)
    pdf = reports.reconciliation_pdf(balance, moves, office=request.app.state.settings.office_name)
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="rekonsiliasi-blanko-{day}.pdf"'})


# --- pickup -------------------------------------------------------------------------------------------------

def _pickup_context(request: Request, *, nik: str, error: KtpelError | None = None) -> dict:
    """Who is collecting (name, photo), the card, and the checks already tried today for it."""
    from sqlalchemy import func, select

    from ktpel.store.schema.enrollment import EnrollmentCaptureRow
    from ktpel.store.schema.printing import PickupCheckRow

    card, person, has_photo, attempts, fingers = None, None, False, 0, []
    if nik.strip():
        try:
            with request.app.state.db.unit_of_work() as s:
                card = service.card_for_nik(s, nik=nik.strip(), regency_code=request.app.state.settings.office_regency)
                person = service.holders(s, card_ids=[card.id]).get(card.id)
                has_photo = bool(s.scalar(select(func.count()).select_from(EnrollmentCaptureRow).where(
                    EnrollmentCaptureRow.enrollment_id == card.enrollment_id, EnrollmentCaptureRow.kind == "face")))
                fingers = sorted(int(k.removeprefix("finger_")) for k in s.scalars(
                    select(EnrollmentCaptureRow.kind).where(EnrollmentCaptureRow.enrollment_id == card.enrollment_id,
                                                            EnrollmentCaptureRow.kind.like("finger_%"))))
                attempts = s.scalar(select(func.count()).select_from(PickupCheckRow).where(
                    PickupCheckRow.card_id == card.id, PickupCheckRow.matched.is_(False))) or 0
        except KtpelError as exc:
            error = error or exc
    return {"nik": nik, "card": card, "person": person, "has_photo": has_photo, "attempts": attempts,
            "fingers": fingers, "error": error, "notice": NOTICES.get(request.query_params.get("ok", ""))}


@router.get("/ambil", include_in_schema=False, dependencies=[Depends(officers)])
def pickup_page(request: Request, nik: str = ""):  # noqa: ANN201
    return render(request, "printing/pickup.html", _pickup_context(request, nik=nik))


@router.post("/ambil/{card_id}", include_in_schema=False)
async def pickup_submit(card_id: str, request: Request, user: User = Depends(officers)):  # noqa: ANN201
    form = await request.form()
    upload = form.get("gambar")
    image = await upload.read(5 * 1024 * 1024) if isinstance(upload, UploadFile) else b""
    finger = str(form.get("jari", "") or "2")  # not a number: position 0, refused as not enrolled
    try:
        pickup.verify_and_issue(request.app.state.db, card_id=card_id,
                                regency_code=request.app.state.settings.office_regency, image=image,
                                actor=user.username, modality=str(form.get("modalitas", "finger")),
                                finger_position=int(finger) if finger.isascii() and finger.isdigit() else 0,
                                face_reason=str(form.get("alasan_wajah", "")), source_ip=_ip(request))
    except KtpelError as exc:
        # the same person, the same card: the form stays so the officer retries or uses another finger
        ctx = _pickup_context(request, nik=str(form.get("nik", "")), error=exc)
        ctx["retry_finger"] = finger
        return render(request, "printing/pickup.html", ctx, status_code=status_for(exc))
    return RedirectResponse("/ambil?ok=diserahkan", status_code=303)


# --- public policy page ---------------------------------------------------------------------------------------

@router.get("/kebijakan-cetak", include_in_schema=False, dependencies=[Depends(public)])
def policy_page(request: Request):  # noqa: ANN201
    """The priority policy in force, for staff and residents alike."""
    policy = service.current_policy(_config(request))
    with request.app.state.db.unit_of_work() as s:
        only_present = service.present_only(s)
    return render(request, "printing/policy.html", {"policy": policy, "present_only": only_present})


# --- JSON API ----------------------------------------------------------------------------------------------

class PrintRequest(BaseModel):
    card_id: str
    serial: str | None = None


class Outcome(BaseModel):
    outcome: str  # printed | spoiled | cancelled
    reason: str | None = None


@router.get("/api/v1/print-queue", tags=["printing"], dependencies=[Depends(officers)],
            response_model=PrintQueue, response_model_exclude_unset=True)
def queue_api(request: Request, limit: Limit = 100) -> dict:
    """The print queue in policy order with stock on hand."""
    policy = service.current_policy(_config(request))
    with request.app.state.db.unit_of_work() as s:
        view = service.print_queue(s, regency_code=request.app.state.settings.office_regency, policy=policy,
                                   limit=min(limit, 1000))
    st = view.stock
    return {
        "policy": {"name": policy.name, "version": policy.version}, "present_only": view.present_only,
        "stock": {"available": st.available, "reserved": st.reserved, "urgent_reserve": st.urgent_reserve,
                  "days_to_stockout": st.days_to_stockout},
        "waiting_not_present": view.waiting_not_present,
        "items": [{"position": e.ranked.position, "card_id": e.ranked.candidate.card_id, "nik": e.nik,
                   "name": e.name, "classes": list(e.classes), "score": e.ranked.score,
                   "days_waited": e.ranked.days_waited, "printable": e.ranked.printable,
                   "why_not": e.ranked.why_not_en or None} for e in view.entries],
    }


@router.post("/api/v1/print-jobs", tags=["printing"], status_code=201,
             response_model=PrintJobStarted, response_model_exclude_unset=True)
def start_api(body: PrintRequest, request: Request, user: User = Depends(officers)) -> dict:
    """Reserve a blank, render and send the card; confirm the outcome afterwards."""
    with request.app.state.db.unit_of_work() as s:
        job = service.start_print(s, card_id=body.card_id, regency_code=request.app.state.settings.office_regency,
                                  settings=request.app.state.settings, actor=user.username, serial=body.serial,
                                  config=_config(request), source_ip=_ip(request))
    return {"job_id": job.id, "card_id": job.card_id, "blank_serial": job.blank_serial, "driver": job.driver,
            "destination": job.destination, "offline": job.offline, "state": job.state}


@router.post("/api/v1/print-jobs/{job_id}/outcome", tags=["printing"],
             response_model=PrintJobOutcome, response_model_exclude_unset=True)
def outcome_api(job_id: str, body: Outcome, request: Request, user: User = Depends(officers)) -> dict:
    """Confirm a print job: printed, spoiled (with a reason) or cancelled."""
    regency = request.app.state.settings.office_regency
    with request.app.state.db.unit_of_work() as s:
        if body.outcome == "printed":
            card = service.confirm_printed(s, job_id=job_id, regency_code=regency, actor=user.username,
                                           source_ip=_ip(request))
            return {"job_id": job_id, "card_state": card.state, "blank_serial": card.blank_serial}
        if body.outcome == "spoiled":
            job = service.confirm_spoiled(s, job_id=job_id, regency_code=regency, actor=user.username,
                                          reason=body.reason or "", source_ip=_ip(request))
        elif body.outcome == "cancelled":
            job = service.cancel_job(s, job_id=job_id, regency_code=regency, actor=user.username)
        else:
            raise KtpelError("Hasil harus printed, spoiled atau cancelled.",
                             "Outcome must be printed, spoiled or cancelled.", code="outcome_invalid")
    return {"job_id": job.id, "state": job.state, "blank_serial": job.blank_serial}


@router.get("/api/v1/blanks/stock", tags=["printing"], dependencies=[Depends(officers)],
            response_model=BlankStock, response_model_exclude_unset=True)
def stock_api(request: Request) -> dict:
    """Stock on hand, rate of use and the ledger balance."""
    policy = service.current_policy(_config(request))
    with request.app.state.db.unit_of_work() as s:
        st = ledger.stock(s, reserve_share=policy.urgent_reserve_share)
        r = ledger.reconcile(s)
    return {"available": st.available, "reserved": st.reserved, "urgent_reserve": st.urgent_reserve,
            "consumed_last_days": st.consumed_last_days, "window_days": st.window_days,
            "days_to_stockout": st.days_to_stockout,
            "ledger": {"received": r.received, "used": r.used, "spoiled": r.spoiled, "returned": r.returned,
                       "available": r.available, "balanced": r.balanced}}
