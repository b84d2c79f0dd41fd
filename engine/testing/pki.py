"""A throwaway PKI and a local RFC 3161 timestamp server, for tests and benchmarks only.

Everything is generated at run time with validity relative to "now" (or to an explicit
``now=``), so the suite never depends on fixed-date fixtures and keeps passing years later or
under a shifted clock::

    ca = pki.Pki()                                   # root -> intermediate -> seal + TSA
    identity_p12 = ca.pkcs12(ca.leaf, b"secret")     # leaf key + cert + chain
    material = ca.validation_material()              # certs, CRLs and OCSP responses (DER)
    with ca.timestamp_server() as tsa:               # http://127.0.0.1:<port>/ in a thread
        server = tsa.server()                        # a timestamp.TimestampServer for it
        tsa.set_mode("unavailable")                  # 503 / "hang" / "garbage" / "reject"...

Certificates point their CRL/OCSP/caIssuers URLs at ``pki.digital-sign.invalid`` (a name that
never resolves): revocation data is handed over as ``validation_material``, never fetched.
No pytest imports here: the Odoo test suite imports this module too.
"""

import base64
import hashlib
import http.server
import secrets
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from asn1crypto import cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..timestamp import TimestampServer
from ..x509 import ValidationMaterial, new_private_key, utc

BASE_URL = "http://pki.digital-sign.invalid"
TSA_POLICY_OID = "2.999.7.1"  # 2.999: the ASN.1 arc reserved for examples
PADDING_ATTR_OID = "2.999.7.2"

MODES = ("ok", "unavailable", "hang", "garbage", "reject", "wrong_imprint", "wrong_content_type")


def _sign(key, data):
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256()), "sha256_rsa"
    return key.sign(data, ec.ECDSA(hashes.SHA256())), "sha256_ecdsa"


def _key_usage(names):
    names = set(names)
    known = {
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
    }
    unknown = names - known
    if unknown:
        raise ValueError(f"unknown key usages {sorted(unknown)}")
    return x509.KeyUsage(
        **{name: name in names for name in known}, encipher_only=False, decipher_only=False
    )


def _slug(text):
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key, both DER (the key as unencrypted PKCS#8)."""

    name: str
    cert_der: bytes
    key_der: bytes = field(repr=False)

    @property
    def cert(self):
        return x509.load_der_x509_certificate(self.cert_der)

    @property
    def key(self):
        return serialization.load_der_private_key(self.key_der, password=None)

    @property
    def serial(self):
        return self.cert.serial_number


class Pki:
    """Root CA -> intermediate CA -> {``leaf`` seal certificate, ``tsa`` certificate}.

    :param now: reference time (default: the current time); validity windows are relative to it
    :param key_type: key type for every certificate (``ec256`` is fast; ``rsa2048`` for realism)
    """

    def __init__(self, *, now=None, key_type="ec256", label="digital_sign test"):
        self.now = utc(now)
        self.key_type = key_type
        self.label = label
        self._issuers = {}
        day = timedelta(days=1)
        self.root = self.issue(
            f"{label} Root CA",
            ca=True,
            not_before=self.now - day,
            not_after=self.now + 20 * 365 * day,
        )
        self.intermediate = self.issue(
            f"{label} Intermediate CA",
            issuer=self.root,
            ca=True,
            path_length=0,
            not_before=self.now - day,
            not_after=self.now + 10 * 365 * day,
        )
        self.leaf = self.issue(f"{label} Seal", issuer=self.intermediate)
        self.tsa = self.issue(
            f"{label} TSA",
            issuer=self.intermediate,
            key_usage=("digital_signature",),
            eku=(ExtendedKeyUsageOID.TIME_STAMPING,),
            not_after=self.now + 5 * 365 * day,
        )

    # --- certificates -------------------------------------------------------------------
    def issue(
        self,
        common_name,
        *,
        issuer=None,
        ca=False,
        path_length=None,
        key_usage=None,
        key_usage_critical=True,
        eku=(),
        not_before=None,
        not_after=None,
        key_type=None,
        organization="digital_sign tests",
        country="FR",
        revocation_pointers=True,
    ):
        """Issue a certificate (self-signed when ``issuer`` is None) and return an ``Issued``.

        ``key_usage`` names cryptography's KeyUsage flags (``digital_signature``,
        ``content_commitment`` = nonRepudiation, ``key_cert_sign``...); the default is
        CA: keyCertSign+cRLSign, others: digitalSignature+nonRepudiation. ``()`` leaves the
        extension out.
        """
        key = new_private_key(key_type or self.key_type)
        attrs = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
        if organization:
            attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
        if country:
            attrs.append(x509.NameAttribute(NameOID.COUNTRY_NAME, country))
        subject = x509.Name(attrs)
        if issuer is None:
            issuer_name, issuer_key, issuer_pub = subject, key, key.public_key()
        else:
            issuer_cert = issuer.cert
            issuer_name, issuer_key = issuer_cert.subject, issuer.key
            issuer_pub = issuer_cert.public_key()
        not_before = utc(not_before) if not_before else self.now - timedelta(hours=1)
        not_after = utc(not_after) if not_after else self.now + timedelta(days=2 * 365)
        if key_usage is None:
            key_usage = (
                ("key_cert_sign", "crl_sign") if ca else ("digital_signature", "content_commitment")
            )
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(
                x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), critical=True
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_pub), critical=False
            )
        )
        if key_usage:
            builder = builder.add_extension(_key_usage(key_usage), critical=key_usage_critical)
        if eku:
            builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=True)
        if issuer is not None and revocation_pointers:
            issuer_slug = _slug(issuer.name)
            builder = builder.add_extension(
                x509.CRLDistributionPoints(
                    [
                        x509.DistributionPoint(
                            full_name=[
                                x509.UniformResourceIdentifier(f"{BASE_URL}/crl/{issuer_slug}.crl")
                            ],
                            relative_name=None,
                            reasons=None,
                            crl_issuer=None,
                        )
                    ]
                ),
                critical=False,
            )
            if not ca:
                builder = builder.add_extension(
                    x509.AuthorityInformationAccess(
                        [
                            x509.AccessDescription(
                                x509.AuthorityInformationAccessOID.OCSP,
                                x509.UniformResourceIdentifier(f"{BASE_URL}/ocsp/{issuer_slug}"),
                            ),
                            x509.AccessDescription(
                                x509.AuthorityInformationAccessOID.CA_ISSUERS,
                                x509.UniformResourceIdentifier(
                                    f"{BASE_URL}/cert/{issuer_slug}.cer"
                                ),
                            ),
                        ]
                    ),
                    critical=False,
                )
        cert = builder.sign(issuer_key, hashes.SHA256())
        issued = Issued(
            name=common_name,
            cert_der=cert.public_bytes(serialization.Encoding.DER),
            key_der=key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        self._issuers[issued.cert_der] = issuer
        return issued

    def issuer_of(self, issued):
        return self._issuers.get(issued.cert_der)

    def chain_of(self, issued):
        """The issuers of ``issued`` up to the root, nearest first (``Issued`` objects)."""
        chain, current = [], self.issuer_of(issued)
        while current is not None:
            chain.append(current)
            current = self.issuer_of(current)
        return chain

    def pkcs12(self, issued, password, *, chain=None, friendly_name=None):
        """PKCS#12 bytes with the key, the certificate and its chain (default: up to the root).
        ``password=None`` writes an unencrypted file."""
        chain = self.chain_of(issued) if chain is None else chain
        encryption = (
            serialization.BestAvailableEncryption(password)
            if password
            else serialization.NoEncryption()
        )
        return pkcs12.serialize_key_and_certificates(
            (friendly_name or issued.name).encode(),
            issued.key,
            issued.cert,
            [c.cert for c in chain] or None,
            encryption,
        )

    @property
    def trust_roots(self):
        return (self.root.cert_der,)

    # --- revocation data ----------------------------------------------------------------
    def crl(self, issuer, *, revoked=(), this_update=None, next_update=None):
        """A DER CRL signed by ``issuer``; ``revoked`` holds ``Issued`` objects or
        ``(Issued, revocation_time)`` pairs."""
        this_update = utc(this_update) if this_update else self.now - timedelta(hours=1)
        next_update = utc(next_update) if next_update else this_update + timedelta(days=30)
        issuer_cert = issuer.cert
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(issuer_cert.subject)
            .last_update(this_update)
            .next_update(next_update)
            .add_extension(x509.CRLNumber(secrets.randbits(32)), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_cert.public_key()),
                critical=False,
            )
        )
        for entry in revoked:
            item, when = entry if isinstance(entry, tuple) else (entry, this_update)
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(item.serial)
                .revocation_date(utc(when))
                .build()
            )
        return builder.sign(issuer.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def ocsp_response(self, issued, *, revoked_at=None, this_update=None, next_update=None):
        """A DER OCSP response about ``issued``, signed directly by its issuing CA."""
        issuer = self.issuer_of(issued)
        if issuer is None:
            raise ValueError("a self-signed certificate has no OCSP responder")
        this_update = utc(this_update) if this_update else self.now - timedelta(minutes=30)
        next_update = utc(next_update) if next_update else this_update + timedelta(days=7)
        status = ocsp.OCSPCertStatus.REVOKED if revoked_at else ocsp.OCSPCertStatus.GOOD
        builder = (
            ocsp.OCSPResponseBuilder()
            .add_response(
                cert=issued.cert,
                issuer=issuer.cert,
                algorithm=hashes.SHA1(),
                cert_status=status,
                this_update=this_update,
                next_update=next_update,
                revocation_time=utc(revoked_at) if revoked_at else None,
                revocation_reason=None,
            )
            .responder_id(ocsp.OCSPResponderEncoding.HASH, issuer.cert)
        )
        response = builder.sign(issuer.key, hashes.SHA256())
        return response.public_bytes(serialization.Encoding.DER)

    def validation_material(self):
        """Everything needed to validate the leaf and the TSA offline: the CA certificates,
        a CRL from each CA and OCSP responses for the leaf and the TSA."""
        return ValidationMaterial(
            certs=(self.intermediate.cert_der, self.root.cert_der),
            crls=(self.crl(self.root), self.crl(self.intermediate)),
            ocsps=(self.ocsp_response(self.leaf), self.ocsp_response(self.tsa)),
        )

    # --- timestamps ---------------------------------------------------------------------
    def timestamp_server(self, **kwargs):
        """A (not yet started) ``TsaServer`` signing with ``self.tsa``; use it as a context
        manager or call ``start()``/``stop()``."""
        return TsaServer(self.tsa, chain=(self.intermediate,), **kwargs)


def refused_url():
    """An http URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/tsa"


class _Handler(http.server.BaseHTTPRequestHandler):
    server_version = "digital-sign-test-tsa"

    def log_message(self, format, *args):  # noqa: A002 - keep test output quiet
        pass

    def _send(self, status, body=b"", content_type="text/plain", headers=None):
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the client gave up (timeout tests)

    def do_GET(self):
        self._send(405)

    def do_POST(self):
        tsa = self.server.tsa
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, 1 << 16))
        tsa._note_request(self.headers)
        if tsa.username or tsa.password:
            expected = (
                "Basic " + base64.b64encode(f"{tsa.username}:{tsa.password}".encode()).decode()
            )
            if self.headers.get("Authorization") != expected:
                self._send(401, headers={"WWW-Authenticate": 'Basic realm="tsa"'})
                return
        mode = tsa.mode
        if mode == "unavailable":
            self._send(503, b"busy")
        elif mode == "hang":
            tsa._release.wait(tsa.hang_seconds)
            self._send(503, b"late")
        elif mode == "garbage":
            self._send(200, b"\x30\x03\x02\x01", "application/timestamp-reply")
        elif mode == "wrong_content_type":
            self._send(200, b"<html>hello</html>", "text/html")
        else:
            try:
                reply = tsa.respond(body)
            except Exception:  # noqa: BLE001 - a malformed request
                self._send(400, b"bad request")
                return
            self._send(200, reply, "application/timestamp-reply")


class TsaServer:
    """A local RFC 3161 timestamp server on 127.0.0.1 in a background thread.

    ``mode`` (change it with ``set_mode``): ``ok``; ``unavailable`` (HTTP 503); ``hang``
    (answers only after ``hang_seconds`` or when the mode changes: clients time out);
    ``garbage`` (200 with an undecodable body); ``reject`` (a valid TimeStampResp with status
    rejection); ``wrong_imprint`` (a well-signed token for another digest);
    ``wrong_content_type`` (200 text/html).

    ``stop()`` then ``start()`` serves again on the same port (connection refused meanwhile).
    ``pad_bytes`` adds that many bytes to every token (an unsigned attribute);
    ``pad_step`` adds ``pad_step * n`` bytes to the n-th token, so tokens keep growing (the
    size-estimate trap of pyHanko #515); ``pad_fn(n)`` adds its result to the n-th token
    (counting from 1). ``requests`` counts requests, ``tokens_issued``
    counts tokens. ``username``/``password`` turn on HTTP basic authentication.
    """

    def __init__(
        self,
        tsa,
        *,
        chain=(),
        username="",
        password="",
        clock=None,
        host="127.0.0.1",
        port=0,
        hang_seconds=30.0,
    ):
        self.tsa = tsa
        self.chain = tuple(chain)
        self.username = username
        self.password = password
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.host = host
        self._port = port  # 0: any free port; kept after the first start (restarts reuse it)
        self.hang_seconds = hang_seconds
        self.mode = "ok"
        self.pad_bytes = 0
        self.pad_step = 0
        self.pad_fn = None
        self.requests = 0
        self.tokens_issued = 0
        self.last_headers = None
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._httpd = None
        self._thread = None

    # --- lifecycle ----------------------------------------------------------------------
    def start(self):
        if self._httpd is None:
            httpd = http.server.ThreadingHTTPServer((self.host, self._port), _Handler)
            self._port = httpd.server_address[1]
            if self.mode == "hang":
                self._release.clear()
            else:
                self._release.set()
            httpd.daemon_threads = True
            httpd.tsa = self
            self._httpd = httpd
            self._thread = threading.Thread(
                target=httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="digital-sign-test-tsa",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self):
        self._release.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(5)
            self._httpd = self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def port(self):
        return self._port

    @property
    def url(self):
        return f"http://{self.host}:{self.port}/tsa"

    def server(self, *, timeout=5.0, with_credentials=True):
        """A ``timestamp.TimestampServer`` pointing here (loopback explicitly allowed)."""
        return TimestampServer(
            url=self.url,
            username=self.username if with_credentials else "",
            password=self.password if with_credentials else "",
            timeout=timeout,
            allow_loopback=True,
        )

    def set_mode(self, mode):
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        self.mode = mode
        if mode == "hang":
            self._release.clear()
        else:
            self._release.set()

    def _note_request(self, headers):
        with self._lock:
            self.requests += 1
            self.last_headers = dict(headers.items())

    # --- RFC 3161 -----------------------------------------------------------------------
    def respond(self, request_der):
        """DER ``TimeStampResp`` for a DER ``TimeStampReq`` (usable without HTTP)."""
        request = tsp.TimeStampReq.load(request_der)
        request.native  # noqa: B018 - parse it all: a malformed request raises here
        if self.mode == "reject":  # TimeStampResp without a token (asn1crypto insists on one)
            status = tsp.PKIStatusInfo(
                {"status": "rejection", "status_string": ["refused (test)"]}
            ).dump()
            return b"\x30" + bytes([len(status)]) + status
        imprint = request["message_imprint"]
        if self.mode == "wrong_imprint":
            imprint = tsp.MessageImprint(
                {
                    "hash_algorithm": {"algorithm": "sha256"},
                    "hashed_message": hashlib.sha256(b"something else").digest(),
                }
            )
        with self._lock:
            self.tokens_issued += 1
            count = self.tokens_issued
        gen_time = utc(self.clock())
        cert = asn1_x509.Certificate.load(self.tsa.cert_der)
        tst_info = {
            "version": "v1",
            "policy": TSA_POLICY_OID,
            "message_imprint": imprint,
            "serial_number": secrets.randbits(64) + 1,
            "gen_time": gen_time,
            "accuracy": {"seconds": 1},
            "tsa": asn1_x509.GeneralName(name="directory_name", value=cert.subject),
        }
        if request["nonce"].native is not None:
            tst_info["nonce"] = request["nonce"].native
        tst_der = tsp.TSTInfo(tst_info).dump()
        signed_attrs = cms.CMSAttributes(
            [
                cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}),
                cms.CMSAttribute(
                    {"type": "message_digest", "values": [hashlib.sha256(tst_der).digest()]}
                ),
                cms.CMSAttribute(
                    {
                        "type": "signing_certificate_v2",
                        "values": [
                            tsp.SigningCertificateV2(
                                {
                                    "certs": [
                                        tsp.ESSCertIDv2(
                                            {
                                                "hash_algorithm": {"algorithm": "sha256"},
                                                "cert_hash": hashlib.sha256(
                                                    self.tsa.cert_der
                                                ).digest(),
                                                "issuer_serial": {
                                                    "issuer": [
                                                        asn1_x509.GeneralName(
                                                            name="directory_name", value=cert.issuer
                                                        )
                                                    ],
                                                    "serial_number": cert.serial_number,
                                                },
                                            }
                                        )
                                    ]
                                }
                            )
                        ],
                    }
                ),
            ]
        )
        signature, algorithm = _sign(self.tsa.key, signed_attrs.dump())
        signer_info = {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                name="issuer_and_serial_number",
                value={"issuer": cert.issuer, "serial_number": cert.serial_number},
            ),
            "digest_algorithm": {"algorithm": "sha256"},
            "signed_attrs": signed_attrs,
            "signature_algorithm": {"algorithm": algorithm},
            "signature": signature,
        }
        pad = self.pad_bytes + self.pad_step * count + (self.pad_fn(count) if self.pad_fn else 0)
        if pad:
            signer_info["unsigned_attrs"] = [
                cms.CMSAttribute(
                    {"type": PADDING_ATTR_OID, "values": [core.OctetString(bytes(pad))]}
                )
            ]
        certs = [cert] + [asn1_x509.Certificate.load(c.cert_der) for c in self.chain]
        signed_data = {
            "version": "v3",
            "digest_algorithms": [{"algorithm": "sha256"}],
            "encap_content_info": {
                "content_type": "tst_info",
                "content": cms.ParsableOctetString(tst_der),
            },
            "signer_infos": [signer_info],
        }
        if request["cert_req"].native:
            signed_data["certificates"] = certs
        signed_data = cms.SignedData(signed_data)
        token = cms.ContentInfo({"content_type": "signed_data", "content": signed_data})
        return tsp.TimeStampResp(
            {"status": {"status": "granted"}, "time_stamp_token": token}
        ).dump()
