"""Message templates: built-in texts per trigger, variable checking and rendering (pure, no I/O)."""

from __future__ import annotations

import string
from dataclasses import dataclass

from ktpel.office.notify.errors import MalformedTemplate, UnknownTrigger, UnknownVariable

TRIGGERS = ("print_ready", "outage_over", "duplicate_found", "card_printed", "recording_failed", "ikd_code")

# Every variable the sender can always fill (resident, latest enrollment, office settings, trigger defaults).
VARIABLES: dict[str, tuple[str, str]] = {
    "nama": ("nama penduduk", "resident's name"),
    "kantor": ("nama kantor Disdukcapil", "office name"),
    "alamat_kantor": ("alamat kantor", "office address"),
    "jam_buka": ("jam buka layanan", "opening hours"),
    "bawa": ("dokumen yang perlu dibawa", "documents to bring"),
    "nomor_tanda_terima": ("nomor tanda terima perekaman", "recording receipt number"),
    "alasan": ("alasan (mis. rekam ulang)", "reason (e.g. re-record)"),
    "kode": ("kode aktivasi IKD sekali pakai", "one-time IKD activation code"),
}

TRIGGER_LABELS: dict[str, tuple[str, str]] = {
    "print_ready": ("KTP-El siap cetak (PRR)", "card print-ready (PRR)"),
    "outage_over": ("Gangguan pusat data selesai", "data-center outage over"),
    "duplicate_found": ("Data ganda ditemukan", "duplicate found"),
    "card_printed": ("KTP-El sudah dicetak, menunggu diambil", "card printed and waiting"),
    "recording_failed": ("Perekaman gagal, rekam ulang", "recording failed, re-record"),
    "ikd_code": ("Kode aktivasi IKD", "IKD activation code"),
}

# What a resident brings for each trigger unless the caller says otherwise.
DEFAULT_BRING: dict[str, tuple[str, str]] = {
    "print_ready": ("tanda terima perekaman dan KK", "the recording receipt and family card (KK)"),
    "outage_over": ("tanda terima perekaman", "the recording receipt"),
    "duplicate_found": ("KK asli dan tanda terima perekaman", "the original KK and the recording receipt"),
    "card_printed": ("tanda terima perekaman", "the recording receipt"),
    "recording_failed": ("KK dan tanda terima perekaman", "the KK and the recording receipt"),
    "ikd_code": ("-", "-"),
}


@dataclass(frozen=True)
class Template:
    trigger: str
    body_id: str
    body_en: str


BUILT_IN: dict[str, Template] = {
    "print_ready": Template(
        "print_ready",
        "Yth. {nama}, KTP-El Anda siap dicetak. Silakan datang ke {kantor}, {alamat_kantor} ({jam_buka}), "
        "bawa {bawa}. No. tanda terima: {nomor_tanda_terima}.",
        "Dear {nama}, your KTP-El is ready to print. Please come to {kantor}, {alamat_kantor} ({jam_buka}) "
        "and bring {bawa}. Receipt no.: {nomor_tanda_terima}.",
    ),
    "outage_over": Template(
        "outage_over",
        "Yth. {nama}, layanan cetak KTP-El di {kantor} kembali normal. Silakan datang kembali ({jam_buka}), "
        "bawa {bawa}.",
        "Dear {nama}, KTP-El printing at {kantor} is back to normal. Please come back ({jam_buka}) "
        "and bring {bawa}.",
    ),
    "duplicate_found": Template(
        "duplicate_found",
        "Yth. {nama}, ditemukan data ganda pada perekaman Anda. Silakan datang ke {kantor}, {alamat_kantor} "
        "({jam_buka}) dengan KK untuk penyelesaian data ganda. Bawa {bawa}.",
        "Dear {nama}, a duplicate record was found for your recording. Please come to {kantor}, "
        "{alamat_kantor} ({jam_buka}) with your KK to resolve it. Bring {bawa}.",
    ),
    "card_printed": Template(
        "card_printed",
        "Yth. {nama}, KTP-El Anda sudah dicetak dan menunggu diambil di {kantor}, {alamat_kantor} "
        "({jam_buka}). Bawa {bawa}.",
        "Dear {nama}, your KTP-El has been printed and is waiting for you at {kantor}, {alamat_kantor} "
        "({jam_buka}). Bring {bawa}.",
    ),
    "recording_failed": Template(
        "recording_failed",
        "Yth. {nama}, perekaman KTP-El Anda perlu diulang ({alasan}). Silakan datang ke {kantor}, "
        "{alamat_kantor} ({jam_buka}), bawa {bawa}.",
        "Dear {nama}, your KTP-El recording must be redone ({alasan}). Please come to {kantor}, "
        "{alamat_kantor} ({jam_buka}) and bring {bawa}.",
    ),
    "ikd_code": Template(
        "ikd_code",
        "Kode aktivasi IKD Anda: {kode}. Masukkan di perangkat Anda dalam 15 menit. JANGAN berikan kode ini "
        "kepada siapa pun, termasuk petugas. {kantor}",
        "Your IKD activation code: {kode}. Enter it on your device within 15 minutes. Do NOT share it with "
        "anyone, officers included. {kantor}",
    ),
}


def check_trigger(trigger: str) -> str:
    """Return `trigger` if known, else raise UnknownTrigger."""
    if trigger not in TRIGGERS:
        raise UnknownTrigger(trigger)
    return trigger


def variables_of(body: str) -> list[str]:
    """The variable names a template uses, in order; MalformedTemplate on broken braces or format specs."""
    names: list[str] = []
    try:
        parsed = list(string.Formatter().parse(body))
    except ValueError as exc:
        raise MalformedTemplate(str(exc)) from exc
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if spec or conversion or not field.isidentifier():
            raise MalformedTemplate(f"'{{{field}{'!' + conversion if conversion else ''}"
                                    f"{':' + spec if spec else ''}}}'")
        names.append(field)
    return names


def validate(body: str) -> None:
    """Refuse an empty template, broken braces, or any variable outside VARIABLES."""
    if not body.strip():
        raise MalformedTemplate("kosong / empty")
    unknown = [n for n in dict.fromkeys(variables_of(body)) if n not in VARIABLES]
    if unknown:
        raise UnknownVariable(names=unknown, allowed=list(VARIABLES))


def render(body: str, values: dict[str, str]) -> str:
    """Fill a validated template; every known variable must be present in `values`."""
    validate(body)
    return body.format_map({k: str(values.get(k, "")) for k in VARIABLES})


def compose(template: Template, *, values_id: dict[str, str], values_en: dict[str, str]) -> str:
    """The text sent: Bahasa Indonesia first, English second."""
    return render(template.body_id, values_id) + "\n\n(EN) " + render(template.body_en, values_en)
