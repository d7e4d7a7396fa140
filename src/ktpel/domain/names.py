"""Names of residents as Dukcapil records them: one rule for every path (form, API, import, packet intake).

Source: Permendagri No. 73 Tahun 2022 tentang Pencatatan Nama pada Dokumen Kependudukan. Pasal 4 asks for
a name "mudah dibaca" written in Latin letters ("huruf latin"); Pasal 5(3) forbids digits and punctuation
("dilarang menggunakan angka dan tanda baca") and abbreviations. The counter does not register a name: it
copies the one already in the family register (KK/SIAK), and names recorded before 2022 legitimately
carry an apostrophe (MA'RUF), a hyphen, and the period and comma of old abbreviations and titles
(MUH. ALI, BUDI, S.PD). So the rule here is the register's character set, not the stricter 2022 rule for
new names at birth (the 60-letter and two-word limits are the civil registry's, applied at the akta):

* Latin letters A–Z and the accented Latin letters of ISO 8859-1 (À–Þ; foreign residents with a KITAP
  get a KTP-El under their passport name, e.g. JOSÉ MÜLLER); the card font covers exactly these;
* space, apostrophe ('), hyphen (-), period (.) and comma (,) between letters; a name starts with a letter;
* normalised: Unicode NFC, trimmed, inner runs of spaces collapsed to one, upper-case;
* refused: digits, other scripts, emoji, control characters, bidi overrides (U+202E), zero-width
  characters, and every other symbol; at most 100 characters.
"""

from __future__ import annotations

import re
import unicodedata

from ktpel.domain.errors import KtpelError

MAX_NAME_LENGTH = 100
# The characters a normalised (upper-case) name may contain, and the same for input in any case: the
# API schema publishes NAME_PATTERN so clients can check before sending.
_UPPER = "A-ZÀ-ÖØ-Þ"
_LETTERS = "A-Za-zÀ-ÖØ-öø-ÿ"
_NAME_RE = re.compile(rf"[{_UPPER}][{_UPPER} '\-.,]*")
NAME_PATTERN = rf"^ *[{_LETTERS}][{_LETTERS} '\-.,]* *$"


class NameInvalid(KtpelError):
    """A name outside Dukcapil's character set (or empty, or too long)."""

    code = "name_invalid"
    http_status = 422


def _describe(ch: str) -> str:
    return f"U+{ord(ch):04X} {unicodedata.name(ch, 'karakter kontrol')}"


def normalise_name(raw: str, *, field: str = "name") -> str:
    """The name as Dukcapil records it (NFC, trimmed, single spaces, upper-case), or NameInvalid."""
    if not isinstance(raw, str):
        raise NameInvalid("Nama harus berupa teks.", f"{field} must be text.")
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        raise NameInvalid("Nama berisi karakter yang rusak.", f"{field} contains an invalid character "
                          "(a lone surrogate).") from None
    text = unicodedata.normalize("NFC", raw).strip(" ")
    text = re.sub(r" {2,}", " ", text).upper()
    if not text:
        raise NameInvalid("Nama wajib diisi.", f"{field} is required.", code="name_empty")
    if len(text) > MAX_NAME_LENGTH:
        raise NameInvalid(f"Nama paling banyak {MAX_NAME_LENGTH} huruf.",
                          f"{field} is at most {MAX_NAME_LENGTH} characters.", code="name_too_long")
    if _NAME_RE.fullmatch(text) is None:
        bad = next((ch for ch in text if not re.fullmatch(rf"[{_UPPER} '\-.,]", ch)), text[0])
        raise NameInvalid(
            f"Nama hanya boleh berisi huruf latin, spasi, dan tanda ' - . , dan diawali huruf "
            f"(ditemukan {_describe(bad)}).",
            f"{field} may contain only Latin letters, spaces and ' - . , and must start with a letter "
            f"(found {_describe(bad)}).")
    return text


def is_valid_name(raw: str) -> bool:
    try:
        normalise_name(raw)
    except NameInvalid:
        return False
    return True
