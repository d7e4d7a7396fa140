"""privacy: encrypt the personal columns still in clear (KK number, blood type, religion, marital status,
occupation, family role) on residents and central_records, and cards.authorisation; KK search through a
keyed blind index

Existing rows are re-encrypted here with the field cipher (AES-256-GCM, the active key), in batches.

Revision ID: privacy_0001
Revises:
"""
from alembic import op
import sqlalchemy as sa


revision = "privacy_0001"
down_revision = None
branch_labels = ("privacy",)
depends_on = ("0001_core", "central_0001")

RESIDENTS = ["kk_number", "blood_type", "religion", "marital_status", "occupation", "family_role"]
NATIONAL = ["kk_number", "blood_type", "religion", "marital_status", "occupation"]
BATCH = 1000


def _cipher():  # noqa: ANN202
    from ktpel.store.fields import cipher

    return cipher()


def _rewrite(table: str, pk: str, cols: list[str], *, encrypt: bool, kk_index: bool) -> None:
    """Copy each column into `<col>__new`, encrypting (or decrypting), a batch of rows at a time."""
    conn = op.get_bind()
    c = _cipher()
    src = sa.table(table, sa.column(pk), *[sa.column(col) for col in cols])
    new_cols = [sa.column(f"{col}__new") for col in cols] + ([sa.column("kk_index")] if kk_index else [])
    dst = sa.table(table, sa.column(pk), *new_cols)
    last = None
    while True:
        query = sa.select(src).order_by(src.c[pk]).limit(BATCH)
        if last is not None:
            query = query.where(src.c[pk] > last)
        rows = conn.execute(query).mappings().all()
        if not rows:
            return
        updates = []
        for row in rows:
            values = {"_pk": row[pk]}
            for col in cols:
                raw = row[col]
                if encrypt:
                    values[f"{col}__new"] = None if raw is None else c.encrypt(str(raw).encode("utf-8"))
                else:
                    values[f"{col}__new"] = None if raw is None else c.decrypt(bytes(raw)).decode("utf-8")
            if kk_index:
                values["kk_index"] = c.blind_index("kk:" + str(row["kk_number"] or "").strip())
            updates.append(values)
        conn.execute(dst.update().where(dst.c[pk] == sa.bindparam("_pk")),
                     [{k: v for k, v in u.items()} for u in updates])
        last = rows[-1][pk]


def _swap(table: str, cols: list[str], *, new_type, drop_indexes=(), create_indexes=(), nullable_new=(),  # noqa: ANN001
          nullable: bool = False) -> None:
    """Replace each column by its `__new` copy. No table is rebuilt: SQLite's batch mode would drop and
    recreate `residents`, which foreign keys from enrollments/cards forbid (and PRAGMA foreign_keys cannot
    be turned off inside the migration's transaction). SQLite ≥ 3.35 drops and renames columns in place;
    there the new columns stay nullable (SQLite cannot add NOT NULL afterwards; the models always write)."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    for name in drop_indexes:
        op.drop_index(name, table_name=table)
    for col in cols:
        if sqlite:
            op.execute(f'ALTER TABLE "{table}" DROP COLUMN "{col}"')
            op.execute(f'ALTER TABLE "{table}" RENAME COLUMN "{col}__new" TO "{col}"')
        else:
            op.drop_column(table, col)
            op.alter_column(table, f"{col}__new", new_column_name=col, existing_type=new_type, nullable=nullable)
    if not sqlite:
        for col in nullable_new:
            op.alter_column(table, col, existing_type=sa.String(length=32), nullable=False)
    for name, columns in create_indexes:
        op.create_index(name, table, columns, unique=False)


def upgrade() -> None:
    for col in RESIDENTS:
        op.add_column("residents", sa.Column(f"{col}__new", sa.LargeBinary(), nullable=True))
    op.add_column("residents", sa.Column("kk_index", sa.String(length=32), nullable=True))
    _rewrite("residents", "id", RESIDENTS, encrypt=True, kk_index=True)
    _swap("residents", RESIDENTS, new_type=sa.LargeBinary(), drop_indexes=["ix_residents_kk_number"],
          create_indexes=[("ix_residents_kk_index", ["kk_index"])], nullable_new=["kk_index"])

    for col in NATIONAL:
        op.add_column("central_records", sa.Column(f"{col}__new", sa.LargeBinary(), nullable=True))
    _rewrite("central_records", "id", NATIONAL, encrypt=True, kk_index=False)
    _swap("central_records", NATIONAL, new_type=sa.LargeBinary())

    # the print authorisation is a signed token whose payload (base64, not secret) holds name and address
    op.add_column("cards", sa.Column("authorisation__new", sa.LargeBinary(), nullable=True))
    _rewrite("cards", "id", ["authorisation"], encrypt=True, kk_index=False)
    _swap("cards", ["authorisation"], new_type=sa.LargeBinary(), nullable=True)


def downgrade() -> None:
    sizes = {"kk_number": 16, "blood_type": 2, "religion": 40, "marital_status": 20, "occupation": 60,
             "family_role": 20}
    op.add_column("cards", sa.Column("authorisation__new", sa.Text(), nullable=True))
    _rewrite("cards", "id", ["authorisation"], encrypt=False, kk_index=False)
    _swap("cards", ["authorisation"], new_type=sa.Text(), nullable=True)
    for table, cols in (("central_records", NATIONAL), ("residents", RESIDENTS)):
        for col in cols:
            op.add_column(table, sa.Column(f"{col}__new", sa.String(length=sizes[col]), nullable=True))
        _rewrite(table, "id", cols, encrypt=False, kk_index=False)
        if table == "residents":
            op.drop_index("ix_residents_kk_index", table_name="residents")
            op.drop_column("residents", "kk_index")
        for col in cols:
            _swap(table, [col], new_type=sa.String(length=sizes[col]))
        if table == "residents":
            op.create_index("ix_residents_kk_number", "residents", ["kk_number"], unique=False)
