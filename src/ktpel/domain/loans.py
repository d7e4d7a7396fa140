"""Lending blanks between regencies of one province: who can spare, who is short, and how many move.

A regency spares what it holds beyond its own print-ready backlog; a regency is short by the backlog its
stock does not cover. Loans pair them inside one province (province code = the first two digits), largest
shortage first, from the largest spare stock, never more than the lender holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ktpel.domain.errors import KtpelError


class LoanState(str, Enum):
    ACCEPTED = "ACCEPTED"  # central accepted; the lender office picks the serials
    SHIPPED = "SHIPPED"  # the lender reported the serials it took out of its ledger
    REFUSED = "REFUSED"  # the lender's ledger held fewer blanks than central believed


class LoanRefused(KtpelError):
    code = "loan_refused"
    http_status = 409


@dataclass(frozen=True)
class RegencyStock:
    code: str
    name: str
    on_hand: int
    backlog: int

    @property
    def province(self) -> str:
        return self.code.split(".")[0]

    @property
    def spare(self) -> int:
        return max(0, self.on_hand - self.backlog)

    @property
    def short(self) -> int:
        return max(0, self.backlog - self.on_hand)


@dataclass(frozen=True)
class LoanProposal:
    lender: RegencyStock
    borrower: RegencyStock
    count: int


def propose_loans(stocks: list[RegencyStock]) -> list[LoanProposal]:
    """Loans from regencies with spare blanks to short ones of the same province (greedy, largest first)."""
    out: list[LoanProposal] = []
    for province in sorted({s.province for s in stocks}):
        here = [s for s in stocks if s.province == province]
        spare = {s.code: s.spare for s in here}
        lenders = sorted((s for s in here if s.spare), key=lambda s: (-s.spare, s.code))
        for borrower in sorted((s for s in here if s.short), key=lambda s: (-s.short, s.code)):
            need = borrower.short
            for lender in lenders:
                if need == 0:
                    break
                n = min(need, spare[lender.code])
                if n > 0:
                    out.append(LoanProposal(lender=lender, borrower=borrower, count=n))
                    spare[lender.code] -= n
                    need -= n
    return out


def check_loan(*, lender: RegencyStock, borrower_code: str, count: int) -> None:
    """Raise LoanRefused for a loan the lender cannot give (count, stock, province, itself)."""
    if count <= 0:
        raise LoanRefused("Jumlah pinjaman harus lebih dari nol.", "A loan moves at least one blank.",
                          code="loan_count")
    if borrower_code == lender.code:
        raise LoanRefused("Kabupaten tidak dapat meminjam dari dirinya sendiri.", "A regency cannot lend to itself.",
                          code="loan_self")
    if borrower_code.split(".")[0] != lender.province:
        raise LoanRefused("Pinjaman blanko hanya antar kabupaten/kota dalam satu provinsi.",
                          "Blanks are lent only between regencies of one province.", code="loan_province")
    if count > lender.on_hand:
        raise LoanRefused(f"Pinjaman {count} blanko melebihi stok {lender.name} ({lender.on_hand}).",
                          f"A loan of {count} blanks exceeds {lender.name}'s stock ({lender.on_hand}).",
                          code="loan_exceeds_stock")
