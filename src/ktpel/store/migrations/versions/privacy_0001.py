"""privacy: encrypt the personal columns still in clear (KK number, blood type, religion, marital status,
occupation, family role) on residents and central_records; KK search through a keyed blind index

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
    from ktpel.security.fields import cipher

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


def _swap(table: str, cols: list[str], *, new_type, drop_indexes=(), create_indexes=(), nullable_new=()) -> None:  # noqa: ANN001
    with op.batch_alter_table(table, schema=None) as batch:
        for name in drop_indexes:
            batch.drop_index(name)
        for col in cols:
            batch.drop_column(col)
    with op.batch_alter_table(table, schema=None) as batch:
        for col in cols:
            batch.alter_column(f"{col}__new", new_column_name=col, existing_type=new_type, nullable=False)
        for col in nullable_new:
            batch.alter_column(col, existing_type=sa.String(length=32), nullable=False)
        for name, columns in create_indexes:
            batch.create_index(name, columns, unique=False)


def upgrade() -> None:
    with op.batch_alter_table("residents", schema=None) as batch:
        for col in RESIDENTS:
            batch.add_column(sa.Column(f"{col}__new", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("kk_index", sa.String(length=32), nullable=True))
    _rewrite("residents", "id", RESIDENTS, encrypt=True, kk_index=True)
    _swap("residents", RESIDENTS, new_type=sa.LargeBinary(), drop_indexes=["ix_residents_kk_number"],
          create_indexes=[("ix_residents_kk_index", ["kk_index"])], nullable_new=["kk_index"])

    with op.batch_alter_table("central_records", schema=None) as batch:
        for col in NATIONAL:
            batch.add_column(sa.Column(f"{col}__new", sa.LargeBinary(), nullable=True))
    _rewrite("central_records", "id", NATIONAL, encrypt=True, kk_index=False)
    _swap("central_records", NATIONAL, new_type=sa.LargeBinary())


def downgrade() -> None:
    sizes = {"kk_number": 16, "blood_type": 2, "religion": 40, "marital_status": 20, "occupation": 60,
             "family_role": 20}
    for table, cols in (("central_records", NATIONAL), ("residents", RESIDENTS)):
        with op.batch_alter_table(table, schema=None) as batch:
            for col in cols:
                batch.add_column(sa.Column(f"{col}__new", sa.String(length=sizes[col]), nullable=True))
        _rewrite(table, "id", cols, encrypt=False, kk_index=False)
        drop = ["ix_residents_kk_index"] if table == "residents" else []
        with op.batch_alter_table(table, schema=None) as batch:
            for name in drop:
                batch.drop_index(name)
            if table == "residents":
                batch.drop_column("kk_index")
            for col in cols:
                batch.drop_column(col)
        with op.batch_alter_table(table, schema=None) as batch:
            for col in cols:
                batch.alter_column(f"{col}__new", new_column_name=col, existing_type=sa.String(length=sizes[col]),
                                   nullable=False)
        if table == "residents":
            op.create_index("ix_residents_kk_number", "residents", ["kk_number"], unique=False)
