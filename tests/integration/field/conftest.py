"""Builders for the field capabilities (Suket, IKD): residents at each stage, via the printing builder."""

from __future__ import annotations

import pytest

from tests.integration.printing.conftest import Office, pdf_content  # noqa: F401


@pytest.fixture
def office(db, settings) -> Office:
    return Office(db, settings)
