"""Documents uploaded to a procedure (initiation act, proxy of whoever signs an application).

Stored outside the web root, under ``UPLOAD_DIR`` (default ``instance/uploads``), with random
names; never served by the static handler. Only PDF and CAdES-signed PDF (``.p7m``) are accepted,
recognised by their content (magic bytes), not by the name the browser sends; the size limit is
``UPLOAD_MAX_BYTES`` (default 10 MB). Each file's SHA-256 is computed while it is written.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from workspace.i18n import gettext as _
from workspace.problems import Problem

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
CHUNK = 64 * 1024
# DER encoding of the OID 1.2.840.113549.1.7.2 (PKCS#7 signedData), as it opens a CAdES envelope.
SIGNED_DATA_OID = bytes.fromhex("06092a864886f70d010702")
MEDIA_TYPES = {"pdf": "application/pdf", "p7m": "application/pkcs7-mime"}
_SAFE_NAME = re.compile(r"[^\w.\- ]+", re.UNICODE)


@dataclass(frozen=True)
class StoredFile:
    path: str  # relative to the upload folder
    name: str  # the original name, cleaned (for display and download)
    size: int
    sha256: str
    kind: str  # pdf | p7m

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.kind]


def upload_dir() -> Path:
    configured = current_app.config.get("UPLOAD_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "uploads"


def max_bytes() -> int:
    return int(current_app.config.get("UPLOAD_MAX_BYTES") or DEFAULT_MAX_BYTES)


def _refuse(message: str, status: int = 422, field: str | None = None) -> Problem:
    return Problem("invalid_file", message, status, field=field)


def _is_signed_pdf(head: bytes) -> bool:
    """A DER PKCS#7 signedData envelope (SEQUENCE, then the signedData OID) with a PDF inside."""
    if len(head) < 16 or head[0] != 0x30 or SIGNED_DATA_OID not in head[:32]:
        return False
    return b"%PDF-" in head


def _decode_base64_p7m(data: bytes) -> bytes | None:
    """Some signing tools save the envelope base64-encoded (with or without PEM armour)."""
    text = re.sub(rb"-----[A-Z0-9 ]+-----", b"", data)
    text = re.sub(rb"\s+", b"", text)
    if not text or not re.fullmatch(rb"[A-Za-z0-9+/=]+", text):
        return None
    text = text[: len(text) - len(text) % 4]  # the head of a longer file: decode whole quanta only
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def sniff(head: bytes) -> str | None:
    """'pdf', 'p7m' or None, from the first bytes of the file."""
    if head.lstrip(b"\xef\xbb\xbf\r\n\t ")[:5] == b"%PDF-":
        return "pdf"
    if _is_signed_pdf(head):
        return "p7m"
    decoded = _decode_base64_p7m(head)
    if decoded is not None and _is_signed_pdf(decoded):
        return "p7m"
    return None


def _expected_kind(filename: str) -> str | None:
    lower = filename.lower()
    if lower.endswith(".p7m"):
        return "p7m"
    if lower.endswith(".pdf"):
        return "pdf"
    return None


def clean_name(filename: str | None) -> str:
    name = os.path.basename((filename or "").replace("\\", "/")).strip()
    name = _SAFE_NAME.sub("_", name)[-200:]
    return name or "documento"


def save_upload(storage, label: str, field: str | None = None) -> StoredFile:
    """Validate and store an uploaded file (a werkzeug ``FileStorage``); raises Problem 422/413.

    ``label`` names the document in messages ("l'atto di avvio", "la procura"); ``field`` is the
    form field a refusal belongs to."""
    if storage is None or not getattr(storage, "filename", ""):
        raise _refuse(_("Manca il file: allegare %(what)s (PDF o PDF firmato .p7m).", what=label), field=field)
    name = clean_name(storage.filename)
    expected = _expected_kind(name)
    if expected is None:
        raise _refuse(_("Il file «%(name)s» non è ammesso: allegare %(what)s in formato PDF (.pdf) o PDF "
                        "firmato digitalmente (.p7m).", name=name, what=label), field=field)
    limit = max_bytes()
    stream = storage.stream
    head = stream.read(CHUNK)
    kind = sniff(head)
    if kind is None or kind != expected:
        raise _refuse(_("Il file «%(name)s» non è un PDF valido né un PDF firmato digitalmente (.p7m): il suo "
                        "contenuto non corrisponde all'estensione. Allegare %(what)s in PDF.",
                        name=name, what=label), field=field)
    directory = upload_dir()
    directory.mkdir(parents=True, exist_ok=True)
    stored = f"{secrets.token_hex(16)}.{kind}"
    final = directory / stored
    partial = directory / f".{stored}.part"
    digest = hashlib.sha256()
    size = 0
    try:
        with open(partial, "wb") as out:
            chunk = head
            while chunk:
                size += len(chunk)
                if size > limit:
                    raise _refuse(_("Il file «%(name)s» è troppo grande: al massimo %(mb)s MB.",
                                    name=name, mb=_megabytes(limit)), 413, field)
                digest.update(chunk)
                out.write(chunk)
                chunk = stream.read(CHUNK)
        if size == 0:
            raise _refuse(_("Il file «%(name)s» è vuoto.", name=name), field=field)
        os.replace(partial, final)
    finally:
        partial.unlink(missing_ok=True)
    return StoredFile(path=stored, name=name, size=size, sha256=digest.hexdigest(), kind=kind)


def _megabytes(limit: int) -> str:
    value = limit / (1024 * 1024)
    return f"{value:.0f}" if value >= 1 else f"{value:.2f}".replace(".", ",")


def absolute(relative: str) -> Path:
    """The stored file's path; refuses anything that would leave the upload folder."""
    base = upload_dir().resolve()
    path = (base / relative).resolve()
    if base not in path.parents:
        raise _refuse(_("Documento inesistente."), 404)
    return path


def media_type(relative: str) -> str:
    return MEDIA_TYPES["p7m" if relative.endswith(".p7m") else "pdf"]


def sha256_of(relative: str) -> str:
    digest = hashlib.sha256()
    with open(absolute(relative), "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def discard(stored: StoredFile | None) -> None:
    """Remove a file stored for a request that was then refused (nothing of it must stay behind)."""
    if stored is not None:
        absolute(stored.path).unlink(missing_ok=True)
