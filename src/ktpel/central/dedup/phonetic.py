"""A phonetic key for Indonesian names (pure): spellings of one name give one key.

Soundex is tuned for English; Indonesian names vary by the old Van Ophuijsen / Soewandi spellings
(oe→u, dj→j, tj→c, j→y, sj→sy, ch→kh), doubled letters and dropped h (Muhammad / Muhamad / Mohamad).
The key keeps the first letter's sound class and the consonant skeleton, which is what survives
those variations; it is a blocking key, so a few false merges are fine (the comparison decides).
"""

from __future__ import annotations

import re
import unicodedata

# old spellings first (order matters: "tj" before "j")
_RESPELL = [
    ("oe", "u"), ("dj", "j"), ("tj", "c"), ("sj", "sy"), ("ch", "kh"), ("j", "y"), ("y", "y"),
    ("ph", "f"), ("v", "f"), ("z", "s"), ("q", "k"), ("x", "ks"), ("kh", "k"), ("dh", "d"), ("th", "t"),
]
# consonant classes: letters that sound alike in names fall into one digit
_CLASS = {}
for _digit, _letters in {"1": "bpf", "2": "ckgs", "3": "dt", "4": "l", "5": "mn", "6": "r", "7": "wy"}.items():
    for _c in _letters:
        _CLASS[_c] = _digit
_TITLES = {"h", "hj", "ir", "dr", "drs", "st", "s", "sh", "spd", "se", "amd", "prof", "raden", "rd"}


def normalise_name(name: str) -> str:
    """Upper-case ASCII words without titles or punctuation, for comparisons."""
    # academic degrees follow a comma in Indonesian names ("Ahmad Dahlan, S.Pd., M.Kom")
    text = unicodedata.normalize("NFKD", name.split(",")[0]).encode("ascii", "ignore").decode("ascii").lower()
    words = [w for w in re.split(r"[^a-z]+", text) if w and w not in _TITLES]
    return " ".join(words)


def word_key(word: str) -> str:
    """Phonetic key of one word: first letter's class + consonant skeleton, at most 6 characters."""
    w = word.lower()
    for old, new in _RESPELL:
        w = w.replace(old, new)
    w = re.sub(r"h(?![aeiou])", "", w)  # silent h: Muhammad / Muhamad / Mohammad
    if not w:
        return ""
    head = w[0]
    head = "a" if head in "aeiou" else _CLASS.get(head, head)
    digits = []
    last = _CLASS.get(w[0], "")
    for c in w[1:]:
        d = _CLASS.get(c, "")
        if d and d != last:
            digits.append(d)
        last = d
    return (head + "".join(digits))[:6]


def name_key(name: str) -> str:
    """Blocking key of a full name: the phonetic key of its first word."""
    words = normalise_name(name).split()
    return word_key(words[0]) if words else ""


def name_keys(name: str) -> set[str]:
    """Phonetic keys of every word of a name."""
    return {word_key(w) for w in normalise_name(name).split()} - {""}


def full_name_key(name: str) -> str:
    """Blocking key of the whole name: the word keys in order (at most 38 characters)."""
    return "-".join(k for k in (word_key(w) for w in normalise_name(name).split()) if k)[:38]


def rarest_word_key(name: str, counts: dict[str, int]) -> str:
    """The key of the name's rarest word by `counts` (unknown words count 0); ties: the longer key, then
    alphabetical. "MUHAMMAD RIZKI" blocks on RIZKI, so the millions of MUHAMMADs never fill the cap."""
    keys = sorted(name_keys(name))
    if not keys:
        return ""
    return min(keys, key=lambda k: (counts.get(k, 0), -len(k), k))
