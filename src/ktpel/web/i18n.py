"""Page text in Bahasa Indonesia first, English second; the `lang` cookie chooses."""

from __future__ import annotations

from fastapi import Request

LANGS = ("id", "en")

MESSAGES: dict[str, tuple[str, str]] = {
    "app_title": ("KTP-El — Layanan Kependudukan", "KTP-El — Civil Registration"),
    "nav_residents": ("Penduduk", "Residents"),
    "nav_home": ("Beranda", "Home"),
    "search": ("Cari", "Search"),
    "search_placeholder": ("NIK, nomor KK, atau nama", "NIK, family card number, or name"),
    "birth_date": ("Tanggal lahir", "Birth date"),
    "name": ("Nama", "Name"),
    "nik": ("NIK", "NIK"),
    "kk": ("No. KK", "Family card"),
    "birth": ("Tempat/Tgl Lahir", "Place/date of birth"),
    "sex": ("Jenis Kelamin", "Sex"),
    "address": ("Alamat", "Address"),
    "village": ("Kel/Desa", "Village"),
    "district": ("Kecamatan", "District"),
    "religion": ("Agama", "Religion"),
    "marital": ("Status Perkawinan", "Marital status"),
    "occupation": ("Pekerjaan", "Occupation"),
    "citizenship": ("Kewarganegaraan", "Citizenship"),
    "blood": ("Gol. Darah", "Blood type"),
    "status": ("Status", "Status"),
    "family": ("Anggota keluarga (KK)", "Family members (KK)"),
    "results": ("hasil", "results"),
    "no_results": ("Tidak ada penduduk yang cocok.", "No matching resident."),
    "page": ("Halaman", "Page"),
    "prev": ("Sebelumnya", "Previous"),
    "next": ("Berikutnya", "Next"),
    "error": ("Terjadi kesalahan", "Something went wrong"),
    "back": ("Kembali", "Back"),
    "search_hint": (
        "Cari penduduk dengan NIK (minimal 6 digit), nomor KK, atau nama lengkap/sebagian kata.",
        "Find a resident by NIK (at least 6 digits), family card number, or whole words of the name.",
    ),
}


def lang_of(request: Request) -> str:
    lang = request.cookies.get("lang", "id")
    return lang if lang in LANGS else "id"


def translate(key: str, lang: str) -> str:
    pair = MESSAGES.get(key)
    if pair is None:
        return key
    return pair[0] if lang == "id" else pair[1]
