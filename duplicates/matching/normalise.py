"""Normalisation of names, identifiers and postcodes.

These functions decide when two spellings count as "the same value". They are used both by
the duplicate matcher and by the service's blind indexes (keyed HMACs of normalised values),
so they must be pure and stable: the same input gives the same output on every machine and
in every release. Change them only with a re-index of the blind indexes.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import jellyfish

__all__ = [
    "fold",
    "normalise_name",
    "name_tokens",
    "compact_name",
    "phonetic_key",
    "normalise_identifier",
    "normalise_postcode",
    "postcode_parts",
    "IDENTIFIER_KINDS",
]

IDENTIFIER_KINDS = ("pnc", "cro", "nomis", "crn")

# Every apostrophe-like and quote-like character becomes "'", every dash-like one "-".
_APOSTROPHES = "\u2018\u2019\u201a\u201b\u2032\u2035\u02bc\u02bb\u02b9\u02bd\u00b4\u0060\uff07\u055a\ua78c"
_QUOTES = "\u201c\u201d\u201e\u201f\u2033\u2036\u00ab\u00bb\uff02\""
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\ufe58\ufe63\uff0d\u058a\u05be\u1806\u2e3a\u2e3b"
_TRANSLATE = str.maketrans(
    {**{c: "'" for c in _APOSTROPHES}, **{c: "'" for c in _QUOTES}, **{c: "-" for c in _DASHES}}
)
# Letters that carry no combining mark under NFKD but have a plain-Latin reading.
_LETTERS = str.maketrans(
    {
        "ł": "l", "đ": "d", "ð": "d", "ø": "o", "æ": "ae", "œ": "oe", "þ": "th",
        "ı": "i", "ħ": "h", "ŧ": "t", "ŋ": "n", "ſ": "s", "ß": "ss",
    }
)
_NON_NAME = re.compile(r"[^a-z0-9' \-]+")
_SPACES = re.compile(r"\s+")
_HYPHENS = re.compile(r"\s*-+\s*")
# Prefixes written joined, spaced or with an apostrophe ("O'Brien", "O Brien", "OBrien").
_JOINED_PREFIXES = frozenset({"o", "mc", "mac", "d", "fitz"})


@lru_cache(maxsize=262_144)
def fold(s: str) -> str:
    """NFKC, case-fold, unify apostrophes/dashes and strip diacritics (Zoë -> zoe)."""
    s = unicodedata.normalize("NFKC", s).translate(_TRANSLATE).casefold().translate(_LETTERS)
    s = unicodedata.normalize("NFKD", s)
    s = "".join(c for c in s if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", s)


@lru_cache(maxsize=262_144)
def normalise_name(s: str | None) -> str:
    """Canonical comparison form of a name: lower-case ASCII letters, single spaces, hyphens.

    Apostrophes are dropped and the prefixes O', Mc, Mac, D' and Fitz are joined to the
    rest of the name, so "O'Brien", "O’Brien", "OBrien" and "O Brien" all give "obrien".
    "McDonald" and "MacDonald" stay distinct here (they are different names) but compare as
    close: see :func:`phonetic_key`.
    """
    if not s:
        return ""
    s = fold(s).replace("'", "")
    s = _NON_NAME.sub(" ", s)
    s = _HYPHENS.sub("-", s)
    s = _SPACES.sub(" ", s).strip(" -")
    if not s:
        return ""
    words = s.split(" ")
    out: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        if w in _JOINED_PREFIXES and i + 1 < len(words):
            out.append(w + words[i + 1])
            i += 2
            continue
        out.append(w)
        i += 1
    return " ".join(out)


def name_tokens(s: str | None) -> list[str]:
    """The words of a normalised name, splitting on spaces and hyphens."""
    n = normalise_name(s)
    return [t for t in re.split(r"[ \-]", n) if t] if n else []


@lru_cache(maxsize=262_144)
def compact_name(s: str | None) -> str:
    """Normalised name with spaces and hyphens removed ("Van der Berg" == "Vanderberg")."""
    return normalise_name(s).replace(" ", "").replace("-", "")


_MAC = re.compile(r"^mac(?=[bcdfghjklmnpqrstvwxz]..)")


@lru_cache(maxsize=262_144)
def phonetic_key(s: str | None) -> str:
    """Deterministic sound-alike key: Metaphone of each word of the normalised name.

    A leading "Mac" before a consonant is read as "Mc" first, so "MacDonald" and
    "McDonald" share a key. Returns "" for an empty name.
    """
    toks = name_tokens(s)
    keys = []
    for t in toks:
        t = _MAC.sub("mc", t)
        k = jellyfish.metaphone(t) if t.isalpha() else t
        keys.append(k.upper() or t.upper())
    return " ".join(keys)


_PNC = re.compile(r"^(\d{2}|\d{4})/?(\d{1,7})([A-Z])$")
_CRO = re.compile(r"^(\d{1,6})/(\d{2})([A-Z])$")
_CRO_SF = re.compile(r"^SF(\d{2})/(\d{1,6})([A-Z])$")
_ID_JUNK = re.compile(r"[\s.\-_]+")
# Two-digit PNC years below this are 20xx, others 19xx. Fixed (never derived from today's
# date) so that normalised values, and the blind indexes built on them, never change.
_PNC_CENTURY_PIVOT = 60


@lru_cache(maxsize=262_144)
def normalise_identifier(kind: str, s: str | None) -> str:
    """Canonical form of a PNC ID, CRO number, NOMIS number or nDelius CRN ("" if empty).

    Upper-cased with spaces, dots and dashes removed. PNC IDs become
    ``YYYY/NNNNNNNL``: a two-digit year is read with a fixed pivot (00-59 -> 20xx,
    60-99 -> 19xx) and the serial is zero-padded to seven digits, so ``01/12345a``,
    ``2001/0012345A`` and ``2001 / 12345 A`` agree. CRO numbers become ``NNNNNN/YYL``
    (or ``SFYY/NNNNNNL``) with the serial zero-padded to six digits.
    """
    if kind not in IDENTIFIER_KINDS:
        raise ValueError(f"unknown identifier kind {kind!r}")
    if not s:
        return ""
    v = _ID_JUNK.sub("", fold(s).upper())
    if kind == "pnc":
        m = _PNC.match(v)
        if m:
            year, serial, check = m.groups()
            if len(year) == 2:
                yy = int(year)
                year = f"{2000 + yy if yy < _PNC_CENTURY_PIVOT else 1900 + yy}"
            return f"{year}/{int(serial):07d}{check}"
    elif kind == "cro":
        m = _CRO.match(v)
        if m:
            serial, yy, check = m.groups()
            return f"{int(serial):06d}/{yy}{check}"
        m = _CRO_SF.match(v)
        if m:
            yy, serial, check = m.groups()
            return f"SF{yy}/{int(serial):06d}{check}"
    return v


_UK_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][0-9A-Z]?)([0-9][A-Z]{2})$")


@lru_cache(maxsize=262_144)
def normalise_postcode(s: str | None) -> str:
    """Upper-case postcode with one space before the inward code ("sw1a1aa" -> "SW1A 1AA").

    Values that are not UK postcodes are upper-cased with spaces removed.
    """
    if not s:
        return ""
    v = re.sub(r"[^0-9A-Z]", "", fold(s).upper())
    m = _UK_POSTCODE.match(v)
    return f"{m.group(1)} {m.group(2)}" if m else v


def postcode_parts(s: str | None) -> tuple[str, str, str]:
    """(full, sector, outward) of a postcode; sector and outward are "" if not a UK postcode."""
    p = normalise_postcode(s)
    if " " not in p:
        return p, "", ""
    outward, inward = p.split(" ")
    return p, f"{outward} {inward[0]}", outward
