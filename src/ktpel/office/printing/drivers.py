"""Printer drivers: a spool folder (default) and CUPS `lp`; chosen by KTPEL_PRINT_* settings."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pydantic_settings import BaseSettings, SettingsConfigDict

from ktpel.domain.errors import KtpelError


class PrinterError(KtpelError):
    code = "printer_error"
    http_status = 502


class PrintingConfig(BaseSettings):
    """Card printer settings (environment prefix KTPEL_PRINT_)."""

    model_config = SettingsConfigDict(env_prefix="KTPEL_PRINT_", extra="ignore")

    driver: str = "spool"  # spool | cups
    spool_dir: Path | None = None  # default: <data_dir>/spool
    printer: str = ""  # CUPS queue name (lp -d); empty: the CUPS default printer
    lp_command: str = "lp"
    lp_options: str = "media=Custom.85.6x53.98mm,fit-to-page"
    # the demo has no real blanks: every output carries SPECIMEN unless an office turns this off
    specimen: bool = True
    policy_file: Path | None = None


@dataclass(frozen=True)
class Sent:
    driver: str
    destination: str  # file path or CUPS request id


class Driver(Protocol):
    name: str

    def send(self, pdf: bytes, *, job_id: str, title: str) -> Sent: ...


class SpoolDriver:
    """Writes each job as `<job_id>.pdf` into a folder the card printer's software watches."""

    name = "spool"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, pdf: bytes, *, job_id: str, title: str) -> Sent:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            target = self.folder / f"{job_id}.pdf"
            # write then rename: a watcher never picks up half a file
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".part")
            with os.fdopen(fd, "wb") as f:
                f.write(pdf)
            os.replace(tmp, target)
        except OSError as exc:
            raise PrinterError(f"Folder spool tidak bisa ditulis: {exc}",
                               f"Cannot write to the spool folder: {exc}") from exc
        return Sent(driver=self.name, destination=str(target))


_REQUEST_ID = re.compile(r"request id is (\S+)")


class CupsDriver:
    """Sends the PDF to a CUPS queue with `lp`, reading the PDF from stdin."""

    name = "cups"

    def __init__(self, *, printer: str, lp_command: str = "lp", options: str = "") -> None:
        self.printer, self.lp_command, self.options = printer, lp_command, options

    def send(self, pdf: bytes, *, job_id: str, title: str) -> Sent:
        exe = shutil.which(self.lp_command)
        if exe is None:
            raise PrinterError(f"Perintah '{self.lp_command}' tidak ditemukan (CUPS belum terpasang?).",
                               f"'{self.lp_command}' was not found (is CUPS installed?).")
        args = [exe, "-t", title[:60]]
        if self.printer:
            args += ["-d", self.printer]
        for opt in filter(None, self.options.split(",")):
            args += ["-o", opt.strip()]
        try:
            done = subprocess.run(args + ["-"], input=pdf, capture_output=True, timeout=30, check=False)
        except subprocess.TimeoutExpired:
            raise PrinterError("Printer tidak menjawab dalam 30 detik.",
                               "The printer did not answer within 30 seconds.") from None
        out = done.stdout.decode(errors="replace")
        if done.returncode != 0:
            err = done.stderr.decode(errors="replace").strip()[:200]
            raise PrinterError(f"Printer menolak pekerjaan cetak: {err}", f"The printer refused the job: {err}")
        match = _REQUEST_ID.search(out)
        return Sent(driver=self.name, destination=match.group(1) if match else out.strip()[:120])


def get_driver(config: PrintingConfig, *, data_dir: Path) -> Driver:
    if config.driver == "cups":
        return CupsDriver(printer=config.printer, lp_command=config.lp_command, options=config.lp_options)
    if config.driver != "spool":
        raise PrinterError(f"Driver printer '{config.driver}' tidak dikenal (spool atau cups).",
                           f"Unknown printer driver '{config.driver}' (spool or cups).")
    return SpoolDriver(config.spool_dir or (data_dir / "spool"))
