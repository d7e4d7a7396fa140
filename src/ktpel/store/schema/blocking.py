"""Demographic blocking keys of the national records (central dedup at national scale)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ktpel.store.schema.base import Base


class NameBlockRow(Base):
    """One blocking key of a record's name: `w:<word key>` per word, `f:<full-name key>` once.

    Every word is indexed, so a probe can block on whichever of its words is rarest now, and find
    records indexed long before the frequencies changed."""

    __tablename__ = "central_name_blocks"
    __table_args__ = (Index("ix_central_name_blocks_key_year", "block_key", "birth_year"),)

    record_id: Mapped[str] = mapped_column(String(40), ForeignKey("central_records.id", ondelete="CASCADE"),
                                           primary_key=True)
    block_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    birth_year: Mapped[int] = mapped_column(Integer)


class NameWordCountRow(Base):
    """How many national records have a name word with this phonetic key (what "rarest" is measured on)."""

    __tablename__ = "central_name_word_counts"

    word_key: Mapped[str] = mapped_column(String(16), primary_key=True)
    records: Mapped[int] = mapped_column(Integer, default=0)
