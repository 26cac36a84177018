"""What a file really is, read from its bytes: PDF, Word (.docx), PNG or JPEG, else refused.

The name a browser sends is only used, sanitised, as the label; the type, the extension it
is given back with and the Content-Type it is served as all come from the content.
"""

from __future__ import annotations

import io
import re
import unicodedata
import warnings
import zipfile

from PIL import Image

KINDS = {
    "pdf": ("application/pdf", ".pdf", "PDF"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx", "Word document"),
    "png": ("image/png", ".png", "PNG image"),
    "jpeg": ("image/jpeg", ".jpg", "JPEG image"),
}
DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
MAX_ZIP_ENTRIES = 2000
MAX_ZIP_EXPANDED = 200 * 1024 * 1024  # what the parts of a .docx may add up to, uncompressed
MAX_IMAGE_PIXELS = 50_000_000
NAME_LENGTH = 120


class NotAllowed(ValueError):
    """The file is not one of the accepted types (the message says what is accepted)."""


ACCEPTED = "The file must be a PDF, a Word document (.docx), or a PNG or JPEG image"


def _pdf(data: bytes) -> bool:
    return data.startswith(b"%PDF-") and b"%%EOF" in data[-2048:]


def _docx(data: bytes) -> bool:
    """An OOXML package whose main part is a Word document, without macros, not a zip bomb."""
    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
            if len(infos) > MAX_ZIP_ENTRIES or sum(i.file_size for i in infos) > MAX_ZIP_EXPANDED:
                return False
            names = {i.filename.lower().replace("\\", "/") for i in infos}
            if "word/document.xml" not in names or any(n.endswith("vbaproject.bin") for n in names):
                return False
            info = z.getinfo("[Content_Types].xml")
            if info.file_size > 1024 * 1024:
                return False
            types = z.read(info).decode("utf-8", "replace")
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, NotImplementedError, EOFError):
        return False
    return DOCX_MAIN in types and "macroEnabled" not in types


def _image(data: bytes, fmt: str) -> bool:
    """Pillow reads the header and checks the structure (no full decode, bounded size)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[fmt]) as img:
                if img.width * img.height > MAX_IMAGE_PIXELS:
                    return False
                img.verify()
    except Exception:  # noqa: BLE001 - any failure to parse means "not this kind of image"
        return False
    return True


def detect(data: bytes) -> str:
    """The kind of file (a key of KINDS), or NotAllowed."""
    if _pdf(data):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n") and _image(data, "PNG"):
        return "png"
    if data.startswith(b"\xff\xd8\xff") and _image(data, "JPEG"):
        return "jpeg"
    if _docx(data):
        return "docx"
    raise NotAllowed(ACCEPTED)


_UNSAFE = re.compile(r"[^\w .()+,-]+")


def safe_name(raw: str | None, kind: str) -> str:
    """The name shown and downloaded: no path, no control or odd characters, no leading dots,
    at most NAME_LENGTH characters, and ending in the extension of what the file really is."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    stem = name.rsplit(".", 1)[0] if "." in name else name
    stem = _UNSAFE.sub("_", stem).strip(" ._") or "document"
    ext = KINDS[kind][1]
    return stem[: NAME_LENGTH - len(ext)] + ext
