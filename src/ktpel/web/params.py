"""Bounded request parameters: a number from a URL must fit the database's integer before it gets there.

`page=2**63` or a job id of 10**19 overflowed SQLite's 64-bit integers, and a job id of 2**35 PostgreSQL's
32-bit INTEGER ids (each a 500); with these types FastAPI answers 422 first.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

MAX_PAGE = 100_000  # far beyond any result list a person pages through
MAX_DB_INT = 2**31 - 1  # the id columns are INTEGER: 32-bit on PostgreSQL (SQLite's are 64-bit)

PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE)]
Limit = Annotated[int, Query(ge=1, le=1000)]
RowId = Annotated[int, Path(ge=1, le=MAX_DB_INT)]
OptionalRowId = Annotated[int | None, Query(ge=1, le=MAX_DB_INT)]
