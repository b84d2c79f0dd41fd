"""Verification of our seal: whether a PDF is a document we sealed, unchanged since.

``verify_pdf`` never raises on bad input; it reports one status (``STATUSES``) and the
details. It validates against the explicit ``trust_roots`` only (never the OS store).
The file first goes through the intake checks (size, decompression bombs, page count:
``pdf_intake.inspect_pdf``): no parser reads a file they refuse. Then it finds OUR seal: the
signature in the part of the file we issued (the longest revision prefix whose SHA-256 the
caller knows, ``issued``), made with one of our own seal certificates (``pinned``: the
``seal_identity.SealPin`` of each, by SHA-256 fingerprint and period of use: a certificate
from the same CA is not our seal). Everything after that seal must be what PAdES allows
after a signature (a DSS, document timestamps: pyHanko's ``ModificationLevel.LTA_UPDATES``);
anything more (a page, content, an annotation, a form value, another signature by anyone) is
``modified_after_sealing``, with what changed (``engine.pdf_changes``).

Sealing is ``pades.seal_pdf``.
"""

import hashlib
import io
import logging
from dataclasses import dataclass
from datetime import datetime

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import (
    KeyUsageConstraints,
    RevocationInfoValidationType,
    async_validate_pdf_ltv_signature,
    async_validate_pdf_signature,
    async_validate_pdf_timestamp,
)
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko_certvalidator import ValidationContext

from . import coroutines, pdf_intake, x509
from .errors import PdfInvalid
from .pdf_changes import Change, describe_changes
from .seal_identity import REQUIRED_KEY_USAGE, REQUIRED_KEY_USAGE_NAMES

STATUSES = (
    "valid",  # intact, covers the file (or only a DSS and document timestamps follow), trusted
    "no_signature",  # a readable PDF without any signature
    "seal_broken",  # digest mismatch, bad signature value, unreadable CMS, odd byte range
    "not_our_seal",  # intact, but not made with a pinned certificate (another one, same CA...)
    "modified_after_sealing",  # a later update does more than add a DSS or document timestamps
    "bytes_appended",  # bytes after the last revision that are not a PDF revision
    "untrusted",  # intact and unmodified, but the chain (or key usage) is not trusted
    "damaged",  # not a readable PDF
    "refused",  # refused before any parser read it (``refusal``: the intake's error code)
)
VERIFY_EXTRA_PAGES = 100  # a sealed file has the certificate of completion after the pages
# ... and more bytes than its upload: the stamped values (signature images), the certificate of
# completion and the seal with its validation material. A document uploaded at the size limit
# must still verify once signed and sealed.
VERIFY_EXTRA_BYTES = 10 * 1024 * 1024
_DAMAGED_CODES = frozenset(
    {"pdf_empty", "pdf_not_pdf", "pdf_damaged", "pdf_encrypted", "pdf_no_pages"}
)  # the other intake refusals are "refused"
_ALLOWED_AFTER_SEAL = ("NONE", "LTA_UPDATES")  # pyHanko ModificationLevel names


class _NoTracebackFilter(logging.Filter):
    """Keep pyHanko's warning about a file changed after a signature, or a certificate
    without a trusted path, to one line: ``verify_pdf`` reports both, and the public
    verification page must not let anyone fill the logs with tracebacks."""

    def filter(self, record):
        record.exc_info = record.exc_text = None
        return True


for _name in ("pyhanko.sign.diff_analysis.policies", "pyhanko.sign.validation.generic_cms"):
    logging.getLogger(_name).addFilter(_NoTracebackFilter())


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of ``verify_pdf`` for the seal of the file: with ``issued``, the last
    signature of the part we issued; else with ``pinned``, the last signature made with a
    pinned certificate; else (or when none is) the last signature (``/Sig``)."""

    status: str  # one of STATUSES
    refusal: str = ""  # status "refused" or "damaged" by the intake: its PdfInvalid code
    issued_sha256: str = ""  # the revision prefix that ``issued`` recognised
    pinned: bool = False  # the seal certificate matches a pin (and its period)
    changes: tuple = ()  # status modified_after_sealing: engine.pdf_changes.Change, in order
    signature_count: int = 0  # /Sig signatures (document timestamps not counted)
    signed_revision_sha256: str = ""  # SHA-256 of the file up to the end of the sealed revision
    revision_sha256s: tuple = ()  # SHA-256 of the file cut at each revision end, from the
    #   first signed revision on, in file order (the last one excludes appended junk)
    signer_subject: str = ""
    signer_issuer: str = ""
    cert_fingerprint: str = ""  # SHA-256, lower-case hex
    self_signed: bool = False
    signing_time: datetime | None = None  # claimed by the signer
    timestamp_time: datetime | None = None  # from a valid and trusted signature timestamp
    timestamp_trusted: bool = False
    level: str = ""  # detected: B-B / B-T / B-LT / B-LTA
    coverage: str = ""  # pyHanko SignatureCoverageLevel name, e.g. ENTIRE_FILE
    modification_level: str = ""  # pyHanko ModificationLevel name, e.g. NONE, LTA_UPDATES
    intact: bool = False
    valid: bool = False
    trusted: bool = False
    detail: str = ""  # for logs only


def _is_encrypted(reader):
    # checked on the trailer: pyHanko's ``encrypted`` raises on a direct /Encrypt dictionary
    return "/Encrypt" in reader.trailer


def _read_dss(handler):
    try:
        dss = DocumentSecurityStore.read_dss(handler)
    except NoDSSFoundError:
        return [], [], [], {}
    certs = list(dss.load_certs())
    crls = [ref.get_object().data for ref in dss.crls]
    ocsps = [ref.get_object().data for ref in dss.ocsps]
    return certs, crls, ocsps, dict(dss.vri_entries or {})


def _revision_end(pdf, reader, revision):
    """Offset just past ``%%EOF`` (and one EOL) that closes ``revision``, or None."""
    info = reader.xrefs.get_xref_container_info(revision)
    position = pdf.find(b"%%EOF", info.end_location)
    if position < 0:
        return None
    end = position + 5
    if pdf[end : end + 2] == b"\r\n":
        end += 2
    elif pdf[end : end + 1] in (b"\n", b"\r"):
        end += 1
    return end


def _prefix_hashes(pdf, ends):
    """SHA-256 of pdf[:end] for each end (ascending), in one pass."""
    digest, position, out = hashlib.sha256(), 0, []
    view = memoryview(pdf)
    for end in sorted(set(ends)):
        digest.update(view[position:end])
        position = end
        out.append(digest.copy().hexdigest())
    return tuple(out)


def _byte_range_end(sig):
    byte_range = [int(x) for x in sig.byte_range]
    return byte_range[2] + byte_range[3]


def _usage_constraints():
    return KeyUsageConstraints(key_usage=set(REQUIRED_KEY_USAGE), match_all_key_usages=True)


def _detect_level(sig, later_dts_ok, dss_vri, dss_changed):
    if sig.attached_timestamp_data is None:
        return "B-B"
    identifier = DocumentSecurityStore.sig_content_identifier(sig.pkcs7_content)
    has_lt = identifier in dss_vri or dss_changed
    if not has_lt:
        return "B-T"
    return "B-LTA" if later_dts_ok else "B-LT"


def _dss_changed_after(reader, revision):
    """True when the DSS gained certificates or revocation data after ``revision``."""
    now_certs, now_crls, now_ocsps, _vri = _read_dss(reader)
    if not (now_certs or now_crls or now_ocsps):
        return False
    try:
        then = _read_dss(reader.get_historical_resolver(revision))
    except Exception:  # noqa: BLE001 - no usable history: judge by the current DSS
        return True
    then_certs = {c.dump() for c in then[0]}
    return (
        any(c.dump() not in then_certs for c in now_certs)
        or bool(set(now_crls) - set(then[1]))
        or bool(set(now_ocsps) - set(then[2]))
    )


def _signer_certificate(sig):
    """The signer's certificate (cryptography), or None when it cannot be read."""
    try:
        return x509.load_certificate(sig.signer_cert.dump())
    except Exception:  # noqa: BLE001 - reported by the validation that follows
        return None


def _fingerprint_of(sig):
    cert = _signer_certificate(sig)
    return x509.fingerprint(cert) if cert is not None else ""


def _issued_prefixes(issued, digests):
    """``{digest: pins or None}`` of the ``digests`` that ``issued`` recognises (a callable
    returning such a mapping, or a collection of digests)."""
    if callable(issued):
        found = issued(tuple(digests)) or {}
        return {digest: found[digest] for digest in digests if digest in found}
    return {digest: None for digest in digests if digest in issued}


def _pick_seal(signatures, ends, issued, pinned):
    """``(seal, pins, issued digest, issued revision)``: the signature to validate, the pins
    it must match (None: no pinning) and the revision prefix we issued (or "" and None)."""
    candidates, pins, digest, revision = signatures, pinned, "", None
    if issued is not None:
        known = _issued_prefixes(issued, [sha for _revision, _end, sha in ends])
        for end_revision, end, sha in reversed(ends):
            if sha in known:
                digest, revision = sha, end_revision
                candidates = [s for s in signatures if _byte_range_end(s) <= end] or signatures
                if known[sha] is not None:
                    pins = tuple(known[sha])
                break
    seal = candidates[-1]
    if pins is not None:
        fingerprints = {pin.fingerprint.lower() for pin in pins}
        ours = [s for s in candidates if _fingerprint_of(s) in fingerprints]
        seal = ours[-1] if ours else seal
    return seal, pins, digest, revision


def _what_changed(reader, signatures, base_revision):
    """The changes after ``base_revision``, for the page; "other" when none is recognised."""
    described = []
    for signature in signatures:
        cert = _signer_certificate(signature)
        described.append(
            (signature.signed_revision, cert.subject.rfc4514_string() if cert is not None else "")
        )
    try:
        changes = describe_changes(reader, base_revision, signatures=described)
    except Exception:  # noqa: BLE001 - a structure too odd to describe is still a change
        changes = ()
    return changes or (Change("other"),)


async def _verify(pdf, roots, ts_roots, material, allow_fetching, now, pinned, issued):  # noqa: C901 - one flat list of checks, each its own verdict
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=True)
        if _is_encrypted(reader):
            return VerifyResult(status="damaged", detail="encrypted PDF")
        reader.root["/Pages"].get_object()  # noqa: B018
    except Exception as exc:  # noqa: BLE001
        return VerifyResult(status="damaged", detail=f"unreadable PDF: {exc!r}")
    try:
        embedded = reader.embedded_signatures
    except Exception as exc:  # noqa: BLE001 - a signature dictionary or CMS that won't parse
        try:
            filled = [v for _n, v, _r in enumerate_sig_fields(reader) if v is not None]
        except Exception:  # noqa: BLE001
            filled = []
        status = "seal_broken" if filled else "damaged"
        return VerifyResult(
            status=status, signature_count=len(filled), detail=f"unreadable signature: {exc!r}"
        )
    signatures = [s for s in embedded if s.sig_object_type == "/Sig"]
    if not signatures:
        return VerifyResult(status="no_signature", detail=f"{len(embedded)} document timestamps")
    count = len(signatures)

    # hashes of the file as it stood at the end of each revision since the first signature
    total = reader.xrefs.total_revisions
    revision_ends = []  # (revision, end offset)
    for revision in range(signatures[0].signed_revision, total):
        end = _revision_end(pdf, reader, revision)
        if end is not None and 0 < end <= len(pdf):
            revision_ends.append((revision, end))
    last_end = revision_ends[-1][1] if revision_ends else None
    ends = {end for _revision, end in revision_ends}
    ends |= {e for e in (_byte_range_end(s) for s in signatures) if 0 < e <= len(pdf)}
    prefix_sha256 = dict(zip(sorted(ends), _prefix_hashes(pdf, ends)))
    revision_sha256s = tuple(prefix_sha256[e] for e in sorted(ends))

    sig, pins, issued_sha256, issued_revision = _pick_seal(
        signatures, [(r, e, prefix_sha256[e]) for r, e in revision_ends], issued, pinned
    )
    signed_end = _byte_range_end(sig)
    signer_cert = _signer_certificate(sig)
    base = {
        "signature_count": count,
        "signed_revision_sha256": prefix_sha256.get(signed_end, ""),
        "revision_sha256s": revision_sha256s,
        "issued_sha256": issued_sha256,
    }
    if signer_cert is not None:
        base.update(
            signer_subject=signer_cert.subject.rfc4514_string(),
            signer_issuer=signer_cert.issuer.rfc4514_string(),
            cert_fingerprint=x509.fingerprint(signer_cert),
            self_signed=x509.is_self_signed(signer_cert),
        )

    dss_certs, _dss_crls, _dss_ocsps, dss_vri = _read_dss(reader)
    extra_certs = x509.asn1_certificates(material.certs) + dss_certs
    moment = x509.utc(now) if now is not None else None

    def context(at=moment, retroactive=False, trusted=roots):
        # DSS revocation data dates from sealing: it serves the long-term validation (at the
        # timestamp's time) only. Stale data in a "now" context would fail where no data
        # passes (soft-fail), so "now" uses the caller's material and fetching only.
        return ValidationContext(
            trust_roots=trusted,
            other_certs=list(extra_certs),
            crls=list(material.crls),
            ocsps=list(material.ocsps),
            allow_fetching=allow_fetching,
            moment=at,
            retroactive_revinfo=retroactive,
        )

    try:
        status = await async_validate_pdf_signature(
            sig,
            signer_validation_context=context(),
            ts_validation_context=context(trusted=ts_roots),
            key_usage_settings=_usage_constraints(),
        )
    except Exception as exc:  # noqa: BLE001 - broken CMS, unsupported algorithm...
        return VerifyResult(status="seal_broken", detail=f"validation failed: {exc!r}", **base)

    coverage = status.coverage
    mod_level = status.modification_level
    ts_status = status.timestamp_validity
    ts_ok = bool(ts_status is not None and ts_status.intact and ts_status.valid)
    timestamp_trusted = bool(ts_ok and ts_status.trusted)
    timestamp_time = x509.utc(ts_status.timestamp) if timestamp_trusted else None
    signing_time = status.signer_reported_dt
    result = dict(
        base,
        signing_time=x509.utc(signing_time) if signing_time else None,
        timestamp_time=timestamp_time,
        timestamp_trusted=timestamp_trusted,
        coverage=coverage.name if coverage is not None else "",
        modification_level=mod_level.name if mod_level is not None else "",
        intact=bool(status.intact),
        valid=bool(status.valid),
    )

    # level: structure, with timestamps that are at least cryptographically sound
    later_dts = [
        s
        for s in embedded
        if s.sig_object_type == "/DocTimeStamp" and s.signed_revision > sig.signed_revision
    ]
    later_dts_ok = False
    for dts in later_dts:
        try:
            dts_status = await async_validate_pdf_timestamp(
                dts, validation_context=context(trusted=ts_roots), skip_diff=True
            )
            later_dts_ok = later_dts_ok or bool(dts_status.intact and dts_status.valid)
        except Exception:  # noqa: BLE001, S112 - a broken DTS just does not count
            continue
    level = "B-B"
    if ts_ok:
        level = _detect_level(
            sig, later_dts_ok, dss_vri, _dss_changed_after(reader, sig.signed_revision)
        )
    result["level"] = level

    # trust: now; else long-term (DSS + timestamps); else at the trusted timestamp's time
    trusted = bool(status.trusted)
    if not trusted and status.intact and status.valid and level in ("B-LT", "B-LTA"):
        try:
            ltv_kwargs = {
                "trust_roots": list({r.dump(): r for r in roots + ts_roots}.values()),
                "other_certs": x509.asn1_certificates(material.certs),
                "crls": list(material.crls),
                "ocsps": list(material.ocsps),
                "allow_fetching": allow_fetching,
            }
            if moment is not None:
                ltv_kwargs["moment"] = moment
            ltv = await async_validate_pdf_ltv_signature(
                sig,
                RevocationInfoValidationType.PADES_LTA
                if level == "B-LTA"
                else RevocationInfoValidationType.PADES_LT,
                validation_context_kwargs=ltv_kwargs,
                bootstrap_validation_context=context(trusted=ts_roots),
                key_usage_settings=_usage_constraints(),
                skip_diff=True,
            )
            trusted = bool(ltv.trusted)
        except Exception:  # noqa: BLE001, S110 - not long-term valid: keep the first verdict
            pass
    if not trusted and status.intact and status.valid and timestamp_trusted:
        try:
            at_time = await async_validate_pdf_signature(
                sig,
                signer_validation_context=context(at=timestamp_time, retroactive=True),
                ts_validation_context=context(trusted=ts_roots),
                key_usage_settings=_usage_constraints(),
                skip_diff=True,
            )
            trusted = bool(at_time.trusted)
        except Exception:  # noqa: BLE001, S110
            pass
    # pyHanko rebuilds the constraints without match_all_key_usages ("any of"): check here
    key_usage_ok = signer_cert is not None and REQUIRED_KEY_USAGE_NAMES <= set(
        x509.key_usage_names(signer_cert)
    )
    trusted = trusted and key_usage_ok
    result["trusted"] = trusted

    # ours: the certificate is pinned, and was in use when the seal was made
    seal_time = timestamp_time or result["signing_time"]
    pinned_ok = pins is None or any(
        pin.covers(base.get("cert_fingerprint"), seal_time) for pin in pins
    )
    result["pinned"] = pins is not None and pinned_ok

    # verdict, worst first
    if not (status.intact and status.valid) or coverage is None or coverage.name == "UNCLEAR":
        verdict = "seal_broken"
    elif not pinned_ok:
        verdict = "not_our_seal"
    elif (
        coverage.name not in ("ENTIRE_FILE", "ENTIRE_REVISION")
        or mod_level is None
        or mod_level.name not in _ALLOWED_AFTER_SEAL
        or status.docmdp_ok is False
    ):
        verdict = "modified_after_sealing"
        base_revision = sig.signed_revision if issued_revision is None else issued_revision
        result["changes"] = _what_changed(reader, signatures, base_revision)
    elif coverage.name != "ENTIRE_FILE" and (last_end is None or len(pdf) > last_end):
        verdict = "bytes_appended"
    elif not trusted:
        verdict = "untrusted"
    else:
        verdict = "valid"
    return VerifyResult(status=verdict, **result)


def verify_pdf(
    pdf,
    *,
    trust_roots,
    timestamp_roots=None,
    pinned=None,
    issued=None,
    validation_material=None,
    allow_fetching=False,
    now=None,
    max_bytes=None,
    max_pages=None,
):
    """Verify the seal of ``pdf`` (see the module docstring); never raises on bad input.

    :param trust_roots: DER/PEM certificates trusted as roots of seal certificates (the only
        trust source)
    :param timestamp_roots: roots trusted for timestamps (default: ``trust_roots``)
    :param pinned: the ``SealPin`` of every seal certificate of ours; the seal must match
        one (None: no pinning, any certificate chaining to ``trust_roots`` will do)
    :param issued: which revision prefixes of the file (SHA-256, hex) we issued: a callable
        taking the candidates (a tuple) and returning ``{digest: pins}`` for those it knows
        (pins: the ``SealPin`` of the issuer, or None for ``pinned``), or a collection of
        digests. The seal is then looked for in the longest such prefix
    :param validation_material: extra certificates/CRLs/OCSP responses (DER), as for sealing
    :param allow_fetching: fetch missing revocation data online
    :param now: validation time (default: the current time)
    :param max_bytes: size limit of the intake (default ``pdf_intake.DEFAULT_MAX_BYTES``
        plus ``VERIFY_EXTRA_BYTES`` for what signing and sealing add)
    :param max_pages: page limit of the intake (default ``pdf_intake.DEFAULT_MAX_PAGES``
        plus ``VERIFY_EXTRA_PAGES`` for the certificate of completion)
    :return: a ``VerifyResult`` (``status`` in ``STATUSES``)
    """
    if not isinstance(pdf, (bytes, bytearray, memoryview)) or not len(pdf):
        return VerifyResult(status="damaged", refusal="pdf_empty", detail="no bytes")
    pdf = bytes(pdf)
    try:
        pdf_intake.inspect_pdf(
            pdf,
            max_bytes=pdf_intake.DEFAULT_MAX_BYTES + VERIFY_EXTRA_BYTES
            if max_bytes is None
            else max_bytes,
            max_pages=pdf_intake.DEFAULT_MAX_PAGES + VERIFY_EXTRA_PAGES
            if max_pages is None
            else max_pages,
        )
    except PdfInvalid as error:
        return VerifyResult(
            status="damaged" if error.code in _DAMAGED_CODES else "refused",
            refusal=error.code,
            detail=f"intake: {error.detail}",
        )
    except Exception as exc:  # noqa: BLE001 - verification must never raise on input
        return VerifyResult(status="damaged", refusal="pdf_damaged", detail=f"intake: {exc!r}")
    try:
        material = x509.coerce_material(validation_material)
    except (ValueError, TypeError):
        material = x509.ValidationMaterial()
    roots = x509.asn1_certificates(trust_roots)
    ts_roots = roots if timestamp_roots is None else x509.asn1_certificates(timestamp_roots)
    pins = None if pinned is None else tuple(pinned)
    try:
        return coroutines.run(
            _verify(pdf, roots, ts_roots, material, allow_fetching, now, pins, issued)
        )
    except Exception as exc:  # noqa: BLE001 - verification must never raise on input
        return VerifyResult(status="damaged", detail=f"verification failed: {exc!r}")
