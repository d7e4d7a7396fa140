"""Printing at the office, the capability's face: what views, the CLI and other capabilities call.

The work lives in cohesive modules beside this one: `queue` (who is waiting, in what order), `jobs`
(printing one card on one blank, confirming or spoiling it), `policy` (the priority policy and the
present-only switch), `stock` (blank batches received and returned), `ledger` (every blank accounted
for), `pickup` (hand-over with a 1:1 check), `central_events` (central's events: PRR cards, revocations,
allocated blanks) and `errors`.
"""

from __future__ import annotations

from ktpel.domain.blanks import BlankState
from ktpel.office.printing.central_events import apply_blanks_allocated
from ktpel.office.printing.errors import (
    CardRevoked, JobNotOpen, NotAuthorised, NotPresent, PrintRefused, ReservedForUrgent, UnknownClass,
)
from ktpel.office.printing.jobs import (
    cancel_job, confirm_printed, holders, confirm_spoiled, open_jobs, preview_card, recent_jobs, report_states,
    spoil_printed_card, start_print,
)
from ktpel.office.printing.policy import (
    DEFAULT_POLICY, current_policy, policy_path, present_only, set_present_only,
)
from ktpel.office.printing.queue import QueueEntry, QueueView, card_for_nik, leave_queue, mark_present, print_queue
from ktpel.office.printing.stock import receive_blanks, return_blank

__all__ = [
    "DEFAULT_POLICY", "BlankState", "CardRevoked", "JobNotOpen", "NotAuthorised", "NotPresent", "PrintRefused",
    "QueueEntry", "QueueView", "ReservedForUrgent", "UnknownClass", "apply_blanks_allocated", "cancel_job",
    "card_for_nik", "confirm_printed", "confirm_spoiled", "current_policy", "leave_queue", "mark_present",
    "open_jobs", "policy_path", "present_only", "preview_card", "print_queue", "receive_blanks", "recent_jobs",
    "report_states", "return_blank", "set_present_only", "spoil_printed_card", "start_print",
]
