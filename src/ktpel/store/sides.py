"""Which side's database holds which table: the office's, central's, or both (shared).

`open_database(settings, name=side)` migrates a side's database to that side's tables only
(migrations `office_split_0001` / `central_split_0001` drop the other side's). A database that serves
both sides (`Settings.shared_database`: the test suite, a one-machine trial) keeps every table.
A new table belongs in exactly one set here; tests/integration/test_database_sides.py checks it.
"""

from __future__ import annotations

from typing import Literal

Side = Literal["office", "central"]

SHARED_TABLES = frozenset({
    "users", "web_sessions", "api_tokens", "login_attempts", "audit_log", "audit_head", "audit_pending", "domain_events",
    "report_cache",
})

OFFICE_TABLES = frozenset({
    "residents", "resident_name_tokens", "resident_phones", "enrollments", "cards",
    "enrollment_approvals", "enrollment_captures", "enrollment_submissions", "enrollment_outcomes",
    "sync_outbox", "sync_link", "sync_outages", "sync_office_announcements",
    "blank_batches", "blanks", "blank_movements", "print_queue", "print_jobs", "pickup_checks", "printing_settings",
    "notify_messages", "notify_templates", "notify_call_list", "notify_call_attempts", "notify_turned_away",
    "notify_revocations", "notify_status_lookups",
    "office_duplicate_cases", "suket", "ikd_activations", "kit_receipts",
})

CENTRAL_TABLES = frozenset({
    "central_records", "central_retired_niks", "central_jobs", "central_stage_runs", "central_adjudications",
    "central_duplicate_cases", "central_counters", "central_dedup_models", "central_name_blocks",
    "central_name_word_counts", "central_suket", "central_ikd", "central_packets", "central_events",
    "sync_offices", "sync_event_counters", "sync_rejections", "sync_announcements", "sync_enrolment_tokens",
    "sync_audit_checkpoints", "blank_allocations", "blank_loans", "printed_reports",
})


def tables_of(side: Side) -> frozenset[str]:
    """The tables a database of `side` holds."""
    return SHARED_TABLES | (OFFICE_TABLES if side == "office" else CENTRAL_TABLES)


def migration_holds(table: str) -> bool:
    """In a migration: whether the database being migrated holds `table`.

    A migration written after the split that touches one side's table guards with it (a table of the
    other side is neither created nor altered there). `ktpel.store.db.upgrade` names the side; a database
    of both sides (no side named) holds every table."""
    from alembic import context

    side = context.config.attributes.get("side")
    return side is None or table in tables_of(side)


def other_side(side: Side) -> Side:
    return "central" if side == "office" else "office"


class OtherSideData(RuntimeError):
    """A side's database holds rows in a table of the other side: splitting it would lose them."""

    def __init__(self, *, side: Side, table: str) -> None:
        self.table = table
        super().__init__(
            f"Basis data {'kantor' if side == 'office' else 'pusat'} memuat data di tabel `{table}` milik sisi "
            f"lain; pindahkan atau kosongkan tabel itu dulu, lalu buka lagi. / The {side} database holds rows "
            f"in `{table}`, a table of the other side: move or empty it, then open the database again.")


def drop_other_side_tables(connection, *, side: Side, tables: list[str]) -> None:  # noqa: ANN001
    """Drop `tables` (children first) from `side`'s database, refusing if any of them holds a row."""
    from sqlalchemy import inspect, text

    present = set(inspect(connection).get_table_names())
    for table in tables:
        if table in present and connection.execute(text(f'SELECT 1 FROM "{table}" LIMIT 1')).first():
            raise OtherSideData(side=side, table=table)
    for table in tables:
        if table in present:
            connection.execute(text(f'DROP TABLE "{table}"'))
