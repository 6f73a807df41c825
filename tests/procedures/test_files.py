"""Uploads: PDF and signed PDF only, recognised by content; size limit; SHA-256; stored outside the
web root under random names."""
from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from tests.procedures.support import P7M, PDF, pdf
from workspace.config import PROJECT_ROOT
from workspace.problems import Problem
from workspace.procedures import files


@pytest.fixture
def ctx(sqlite_app):
    with sqlite_app.app_context():
        yield sqlite_app


def test_pdf_is_stored_with_its_sha256_outside_the_web_root(ctx):
    stored = files.save_upload(pdf("Determina n. 12 (firmata).pdf"), "l'atto")
    path = files.absolute(stored.path)
    assert path.read_bytes() == PDF
    assert stored.sha256 == hashlib.sha256(PDF).hexdigest() == files.sha256_of(stored.path)
    assert (stored.size, stored.kind, stored.media_type) == (len(PDF), "pdf", "application/pdf")
    assert stored.name == "Determina n. 12 _firmata_.pdf"
    assert path.parent == Path(ctx.instance_path) / "uploads"
    assert Path(ctx.static_folder) not in path.parents and PROJECT_ROOT / "templates" not in path.parents
    assert "Determina" not in stored.path and len(stored.path) == 36  # 32 random hex + ".pdf"


def test_signed_pdf_p7m_der_and_base64(ctx):
    assert files.save_upload(pdf("atto.pdf.p7m", P7M), "l'atto").kind == "p7m"
    armoured = b"-----BEGIN PKCS7-----\n" + base64.encodebytes(P7M) + b"-----END PKCS7-----\n"
    assert files.save_upload(pdf("atto.p7m", armoured), "l'atto").kind == "p7m"


@pytest.mark.parametrize(("name", "data"), [
    ("atto.pdf", b"MZ\x90\x00 not a pdf at all"),            # an executable renamed .pdf
    ("atto.pdf", b"<html><script>alert(1)</script></html>"),
    ("atto.p7m", PDF),                                        # extension and content disagree
    ("atto.pdf", P7M),
    ("atto.p7m", b"0\x80" + b"\x00" * 100),                   # an envelope without the signedData OID
])
def test_content_must_match(ctx, name, data):
    with pytest.raises(Problem) as caught:
        files.save_upload(pdf(name, data), "l'atto di avvio")
    assert (caught.value.code, caught.value.status) == ("invalid_file", 422)
    assert "non è un PDF valido" in caught.value.message
    assert not list((Path(ctx.instance_path) / "uploads").glob("*"))


@pytest.mark.parametrize("name", ["atto.docx", "atto.exe", "atto", "atto.pdf.exe"])
def test_extension_allow_list(ctx, name):
    with pytest.raises(Problem) as caught:
        files.save_upload(pdf(name), "l'atto di avvio")
    assert caught.value.message.startswith(f"Il file «{name}» non è ammesso")


def test_size_limit(ctx):
    assert files.max_bytes() == 10 * 1024 * 1024  # the default
    ctx.config["UPLOAD_MAX_BYTES"] = 1024
    with pytest.raises(Problem) as caught:
        files.save_upload(pdf("grande.pdf", PDF + b"0" * 2000), "l'atto")
    assert caught.value.status == 413
    assert "troppo grande" in caught.value.message
    assert not list((Path(ctx.instance_path) / "uploads").glob("*"))
    assert files.save_upload(pdf("piccolo.pdf"), "l'atto").size == len(PDF)


def test_missing_file_and_path_escape(ctx):
    with pytest.raises(Problem) as caught:
        files.save_upload(None, "la procura")
    assert caught.value.message == "Manca il file: allegare la procura (PDF o PDF firmato .p7m)."
    with pytest.raises(Problem):
        files.absolute("../secret_key")
