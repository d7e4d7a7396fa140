"""Words for the internal codes that would otherwise reach the screen (states, field names, capture
items, quality reasons). One table, Bahasa Indonesia first; an unknown code is humanised, never shown raw."""

from __future__ import annotations

import re

from ktpel.domain.delivery import MessageState, PacketState
from ktpel.domain.enrollment import CardState
from ktpel.domain.loans import LoanState
from ktpel.domain.print_job import PrintJobState

FINGER_NAMES = {
    1: ("Ibu jari kanan", "Right thumb"), 2: ("Telunjuk kanan", "Right index"),
    3: ("Jari tengah kanan", "Right middle"), 4: ("Jari manis kanan", "Right ring"),
    5: ("Kelingking kanan", "Right little"), 6: ("Ibu jari kiri", "Left thumb"),
    7: ("Telunjuk kiri", "Left index"), 8: ("Jari tengah kiri", "Left middle"),
    9: ("Jari manis kiri", "Left ring"), 10: ("Kelingking kiri", "Left little"),
}

LABELS: dict[str, tuple[str, str]] = {
    # capture items
    "face": ("Foto wajah", "Face photo"),
    "finger": ("Sidik jari", "Fingerprint"),
    "signature": ("Tanda tangan", "Signature"),
    # demographic fields
    "nik": ("NIK", "NIK"), "name": ("Nama", "Name"), "birth_place": ("Tempat lahir", "Place of birth"),
    "birth_date": ("Tanggal lahir", "Date of birth"), "sex": ("Jenis kelamin", "Sex"),
    "kk_number": ("Nomor KK", "Family card number"), "street": ("Alamat", "Address"),
    "village_code": ("Kel/Desa", "Village"), "religion": ("Agama", "Religion"),
    "marital_status": ("Status perkawinan", "Marital status"), "occupation": ("Pekerjaan", "Occupation"),
    "blood_type": ("Golongan darah", "Blood type"), "citizenship": ("Kewarganegaraan", "Citizenship"),
    "mother_name": ("Nama ibu", "Mother's name"), "father_name": ("Nama ayah", "Father's name"),
    "rt": ("RT", "RT"), "rw": ("RW", "RW"),
    # why a pair came to adjudication
    "biometric_hit": ("Kecocokan biometrik", "Biometric match"),
    "demographic_hit": ("Kecocokan data kependudukan", "Demographic match"),
    "nik_collision": ("NIK sama", "Same NIK"),
    # adjudication item states
    "open": ("Menunggu keputusan", "Awaiting decision"),
    "confirming": ("Menunggu konfirmasi adjudikator kedua", "Awaiting a second adjudicator"),
    "decided": ("Diputuskan", "Decided"), "closed": ("Selesai", "Closed"),
    "same_person": ("Orang yang sama", "Same person"), "different_people": ("Orang berbeda", "Different people"),
    "different": ("Orang berbeda", "Different people"), "same": ("Orang yang sama", "Same person"),
    # enrollment / central record states
    "captured": ("Direkam", "Captured"), "queued": ("Antre kirim ke pusat", "Queued for central"),
    "pending_approval": ("Menunggu persetujuan supervisor", "Awaiting supervisor approval"),
    "sent": ("Terkirim ke pusat", "Sent to central"), "received": ("Diterima pusat", "Received"),
    "dedup": ("Pemeriksaan data ganda", "Deduplication"), "deduplicating": ("Pemeriksaan data ganda", "Deduplicating"),
    "adjudication": ("Adjudikasi", "Adjudication"), "print_ready": ("Siap cetak (PRR)", "Print-ready"),
    "duplicate": ("Data ganda", "Duplicate"), "rejected": ("Ditolak", "Rejected"), "failed": ("Gagal", "Failed"),
    "printed": ("Tercetak", "Printed"), "issued": ("Diserahkan", "Issued"), "revoked": ("Dicabut", "Revoked"),
    "done": ("Selesai", "Done"), "pending": ("Menunggu", "Pending"), "running": ("Berjalan", "Running"),
    "dead": ("Gagal permanen", "Dead letter"), "retry": ("Diulang", "Retrying"),
    "resolved": ("Selesai", "Resolved"), "awaiting_resident": ("Menunggu penduduk", "Awaiting resident"),
    # pipeline stages
    "ingest": ("Penerimaan", "Ingest"), "extract": ("Ekstraksi biometrik", "Template extraction"),
    "match": ("Pencocokan 1:N", "1:N matching"), "decide": ("Keputusan", "Decision"),
    "demographic": ("Pencocokan demografis", "Demographic matching"),
    "validate": ("Validasi paket", "Validation"), "quality": ("Kualitas biometrik", "Biometric quality"),
    "gallery": ("Galeri nasional", "National gallery"), "biometric": ("Pencocokan biometrik 1:N", "1:N matching"),
    # quality reasons (biometrics engine codes)
    "weak_ridges": ("Guratan sidik jari lemah", "Weak ridges"), "low_contrast": ("Kontras rendah", "Low contrast"),
    "too_small": ("Gambar terlalu kecil", "Image too small"), "blurry": ("Buram", "Blurry"),
    "too_dark": ("Terlalu gelap", "Too dark"), "too_bright": ("Terlalu terang", "Too bright"),
    "no_face": ("Wajah tidak ditemukan", "No face found"), "few_minutiae": ("Titik minusi terlalu sedikit", "Too few minutiae"),
    "off_center": ("Wajah tidak di tengah", "Face off-centre"), "eyes_closed": ("Mata tertutup", "Eyes closed"),
    "missing": ("Tidak ada", "Missing"), "injured": ("Cedera", "Injured"), "unable": ("Tidak dapat", "Unable"),
    LoanState.ACCEPTED.value: ("Diterima", "Accepted"), PacketState.QUEUED.value: ("Antre kirim", "Queued"),
    MessageState.SENT.value: ("Terkirim", "Sent"), MessageState.FAILED.value: ("Gagal", "Failed"), "DELIVERED": ("Diterima ponsel", "Delivered"),
    "OK": ("Tercetak baik", "Printed well"), PrintJobState.SPOILED.value: ("Rusak", "Spoiled"),
    CardState.PRINTED.value: ("Tercetak", "Printed"),
    "PRINTING": ("Sedang dicetak", "Printing"), CardState.ISSUED.value: ("Sudah diserahkan", "Issued"),
    "READY": ("Siap cetak", "Ready to print"), "VOID": ("Dibatalkan", "Voided"), PrintJobState.CANCELLED.value: ("Dibatalkan", "Cancelled"),
}


def label(code: object, lang: str = "id") -> str:
    """The officer's word for an internal code: finger_3 -> "Jari tengah kanan", PRINT_READY -> "Siap cetak"."""
    if code is None:
        return "–"
    text = str(getattr(code, "value", code))
    m = re.fullmatch(r"finger_(\d+)", text)
    if m and int(m.group(1)) in FINGER_NAMES:
        pair = FINGER_NAMES[int(m.group(1))]
        return pair[0] if lang == "id" else pair[1]
    for key in (text, text.lower()):
        if key in LABELS:
            pair = LABELS[key]
            return pair[0] if lang == "id" else pair[1]
    # unknown: a readable sentence-case phrase, never an identifier with underscores
    words = text.replace("_", " ").replace("-", " ").strip().lower()
    return words[:1].upper() + words[1:]


def reason_text(reason: str, lang: str = "id") -> str:
    """A quality reason as the engine writes it ("weak_ridges: Guratan lemah / Weak ridges") in one language."""
    code, _, text = str(reason).partition(":")
    if not text:
        return label(code, lang)
    ind, _, eng = text.strip().partition(" / ")
    return (ind if lang == "id" or not eng else eng).strip() or label(code, lang)
