"""The office side, composed: which capabilities are installed, and what they register, by import.

One place answers "what runs at a regency office": the web routers, the handlers of central's events
(with the capability that owns each state: enrollment, printing, notify, data ganda) and the reactions to
central's receipts. Sync, the web app and the CLI are handed these; none of them looks a module up by name.
"""

from __future__ import annotations

from fastapi import APIRouter

from ktpel.office.duplicates import service as duplicate_cases
from ktpel.office.duplicates import views as duplicate_case_views
from ktpel.office.notify import handlers as notify
from ktpel.office.enrollment import central_events as enrollment
from ktpel.office.enrollment import views as enrollment_views
from ktpel.office.ikd import service as ikd
from ktpel.office.ikd import views as ikd_views
from ktpel.office.kit import views as kit_views
from ktpel.office import outcomes
from ktpel.office.notify import views as notices_views
from ktpel.office.printing import central_events as printing
from ktpel.office.printing import loans as blank_loans
from ktpel.office.printing import views as printing_views
from ktpel.office.printing.central_events import apply_blanks_allocated
from ktpel.office.public import views as public_views
from ktpel.office.residents import views as residents_views
from ktpel.office.suket import service as suket
from ktpel.office.suket import views as suket_views
from ktpel.office.transparency import views as board_views
from ktpel.office.reports import metrics as side_metrics
from ktpel.reports import metrics as metrics_views
from ktpel.office.reports import views as reports_views
from ktpel.office.sync import views as sync_views
from ktpel.office.sync.apply import apply_announcement
from ktpel.office.sync.outage import report_to_central
from ktpel.sync.wiring import OfficeHandlers
from ktpel.web import views as web_views

# the office's web routes, in the order they are matched
ROUTERS: list[APIRouter] = [
    web_views.router,
    residents_views.router,
    notices_views.router,
    public_views.router,
    enrollment_views.router,
    sync_views.router,
    duplicate_case_views.router,
    reports_views.router,
    metrics_views.router,
    side_metrics.router,
    printing_views.router,
    suket_views.router,
    ikd_views.router,
    board_views.router,
    kit_views.router,
]

# what a resident's page shows besides the register (each `fn(session, *, resident_id) -> dict` of template
# variables): residents stays below the capabilities that build on it
RESIDENT_PANELS = [outcomes.resident_panel, suket.resident_panel, ikd.resident_panel]

# central's events → the office's handlers, in the order they run (one transaction per event)
SYNC = OfficeHandlers(
    events={
        "enrollment.received": [enrollment.on_received],
        "enrollment.print_ready": [enrollment.on_print_ready, printing.on_print_ready, notify.on_print_ready,
                                   duplicate_cases.apply_case_closed, outcomes.record_outcome],
        "enrollment.adjudication": [enrollment.on_adjudication, outcomes.record_outcome],
        "enrollment.duplicate": [enrollment.on_duplicate, notify.on_duplicate, outcomes.record_outcome],
        "enrollment.failed": [enrollment.on_failed, notify.on_failed, outcomes.record_outcome],
        "announcement": [apply_announcement],
        "revocation": [printing.on_revocation, notify.on_revocation, duplicate_cases.apply_case_closed],
        "blanks.allocated": [apply_blanks_allocated],
        "blanks.loan_out": [blank_loans.apply_loan_out],  # lend: serials out of this ledger, reported
        "blanks.loan_in": [blank_loans.apply_loan_in],  # borrow: exactly the lent serials booked in
        "duplicate.case_opened": [notify.on_duplicate, duplicate_cases.apply_case_opened],
    },
    packet_sent={"enrollment": [enrollment.on_packet_sent]},
    # an outage ended: tell the residents turned away, and report the outage to central
    outage_ended=[notify.on_outage_ended, report_to_central],
)
