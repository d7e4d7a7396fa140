"""The central side, composed: which capabilities are installed, and what they register, by import.

One place answers "what runs at the data center": the web routers and the handlers of the packets
offices send (a packet kind without handlers is stored only). The web app and the CLI are handed these.
"""

from __future__ import annotations

from fastapi import APIRouter

from ktpel.central.adjudication import views as adjudication_views
from ktpel.central.allocation import loan_views
from ktpel.central.allocation import views as allocation_views
from ktpel.central.allocation.loans import record_lent
from ktpel.central.allocation.printed import record_card_printed
from ktpel.central.ikd.service import record_ikd_report
from ktpel.central.pipeline import views as pipeline_views
from ktpel.central.pipeline.intake import handle_enrollment
from ktpel.central.resolution import views as resolution_views
from ktpel.central.resolution.service import handle_resolution_packet
from ktpel.central.suket.service import record_suket_report
from ktpel.central.reports import views as reports_views
from ktpel.central.reports import metrics as side_metrics
from ktpel.reports import metrics as metrics_views
from ktpel.central.sync import views as sync_views
from ktpel.sync.wiring import IntakeHandlers
from ktpel.web import views as web_views

# central's web routes, in the order they are matched
ROUTERS: list[APIRouter] = [
    web_views.router,
    sync_views.router,
    reports_views.router,
    adjudication_views.router,
    pipeline_views.router,
    resolution_views.router,
    metrics_views.router,
    side_metrics.router,
    allocation_views.router,
    loan_views.router,
]

# packet kind → handlers run in the transaction that stores the packet (before the receipt exists)
INTAKE = IntakeHandlers(handlers={
    "enrollment": [handle_enrollment],  # office recording → the dedup pipeline
    "card.printed": [record_card_printed],  # printed blank serials, for allocation
    "card.issued": [],
    "outage.report": [],  # kept in central_packets; the national dashboard reads outage periods there
    "duplicate.resolution": [handle_resolution_packet],  # the resident chose the record to keep
    "suket.report": [record_suket_report],  # a Suket issued/renewed/revoked/ended: the national log
    "blanks.lent": [record_lent],  # the serials a lender office took out for a loan
    "ikd.activated": [record_ikd_report],  # a digital ID activated: blanks saved, per office
    "ikd.revoked": [record_ikd_report],  # that digital ID withdrawn by its office
})
