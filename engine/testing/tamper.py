"""What an insider (or anyone holding a sealed PDF) can append to it, for tests only: each
function returns the PDF with one incremental update after the seal, written by pyHanko, so
that the sealed bytes stay a prefix of the result.

Two of them are what PAdES allows after a seal (``append_dss``, ``append_document_timestamp``);
the others change the document (``append_signature`` even with a certificate from the same
CA as the seal, ``append_page``, ``replace_page_content``, ``append_annotation``,
``append_signature_field``).
"""

import io

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.signers.pdf_signer import PdfTimeStamper
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko_certvalidator.registry import SimpleCertificateStore


def _writer(pdf):
    return IncrementalPdfFileWriter(io.BytesIO(pdf))


def _written(writer):
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _numbers(*values):
    return generic.ArrayObject(generic.NumberObject(value) for value in values)


def append_signature(pdf, issued, chain=(), *, field_name="Countersignature"):
    """An approval signature by ``issued`` (an ``pki.Issued``: its key and certificate) in a
    new field, with ``chain`` (``Issued`` CA certificates) embedded so that it validates to
    the same root as the seal."""
    signer = signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(issued.cert_der),
        signing_key=asn1_keys.PrivateKeyInfo.load(issued.key_der),
        cert_registry=SimpleCertificateStore.from_certs(
            [asn1_x509.Certificate.load(ca.cert_der) for ca in chain]
        ),
    )
    out = signers.sign_pdf(
        _writer(pdf), signers.PdfSignatureMetadata(field_name=field_name), signer=signer
    )
    return out.getvalue()


def append_page(pdf, text=b"Also agreed: everything is free"):
    writer = _writer(pdf)
    content = writer.add_object(
        generic.StreamObject(stream_data=b"BT /F1 18 Tf 72 700 Td (" + text + b") Tj ET")
    )
    writer.insert_page(
        generic.DictionaryObject(
            {
                generic.NameObject("/Type"): generic.NameObject("/Page"),
                generic.NameObject("/MediaBox"): _numbers(0, 0, 595, 842),
                generic.NameObject("/Contents"): content,
            }
        )
    )
    return _written(writer)


def replace_page_content(pdf, page=0, text=b"Nothing was agreed"):
    writer = _writer(pdf)
    page_object = writer.root["/Pages"]["/Kids"].raw_get(page).get_object()
    page_object["/Contents"] = writer.add_object(
        generic.StreamObject(stream_data=b"BT /F1 24 Tf 72 700 Td (" + text + b") Tj ET")
    )
    writer.update_container(page_object)
    return _written(writer)


def append_annotation(pdf, page=0, text="VOID"):
    """A FreeText annotation (a comment drawn over the page)."""
    writer = _writer(pdf)
    page_object = writer.root["/Pages"]["/Kids"].raw_get(page).get_object()
    annotation = writer.add_object(
        generic.DictionaryObject(
            {
                generic.NameObject("/Type"): generic.NameObject("/Annot"),
                generic.NameObject("/Subtype"): generic.NameObject("/FreeText"),
                generic.NameObject("/Rect"): _numbers(72, 72, 400, 200),
                generic.NameObject("/Contents"): generic.TextStringObject(text),
                generic.NameObject("/DA"): generic.TextStringObject("/Helv 24 Tf 1 0 0 rg"),
            }
        )
    )
    existing = page_object.get("/Annots") or generic.ArrayObject()
    page_object["/Annots"] = generic.ArrayObject(
        [*(existing.raw_get(i) for i in range(len(existing))), annotation]
    )
    writer.update_container(page_object)
    return _written(writer)


def append_signature_field(pdf, name="Overlay"):
    """An empty signature field with a box over the whole first page."""
    writer = _writer(pdf)
    fields.append_signature_field(
        writer, fields.SigFieldSpec(name, on_page=0, box=(0, 0, 595, 842))
    )
    return _written(writer)


def append_dss(pdf, certificates):
    """A Document Security Store (what Acrobat's "add verification information" writes)
    holding ``certificates`` (DER)."""
    out = io.BytesIO(pdf)
    DocumentSecurityStore.add_dss(
        out, None, certs=[asn1_x509.Certificate.load(der) for der in certificates], force_write=True
    )
    return out.getvalue()


def append_document_timestamp(pdf, tsa_url, *, field_name="LaterTimestamp"):
    """A document timestamp (RFC 3161 token over the whole file) from the server at
    ``tsa_url``."""
    stamper = PdfTimeStamper(HTTPTimeStamper(tsa_url), field_name=field_name)
    return stamper.timestamp_pdf(_writer(pdf), "sha256").getvalue()
