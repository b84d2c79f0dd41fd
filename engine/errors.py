"""Typed engine errors.

Every error carries a stable ``code`` (mapped to a translated message on the Odoo side in
``const.ENGINE_ERROR_MESSAGES``) and a ``retryable`` flag. The engine never builds user-facing
text: ``detail`` is for logs and tests, and ``params`` holds values a message may show.
"""


class EngineError(Exception):
    code = "engine_error"
    retryable = False

    def __init__(self, detail="", code=None, **params):
        super().__init__(detail or self.__class__.__name__)
        self.detail = detail
        if code:
            self.code = code
        self.params = params

    def __repr__(self):
        return f"{self.__class__.__name__}(code={self.code!r}, detail={self.detail!r})"


# --- PDF intake -------------------------------------------------------------------------
class PdfInvalid(EngineError):
    """The bytes are not a PDF we accept. Codes:

    ``pdf_empty``, ``pdf_not_pdf``, ``pdf_damaged``, ``pdf_encrypted``, ``pdf_no_pages``,
    ``pdf_too_large`` (params: size, limit), ``pdf_too_many_pages`` (params: pages, limit),
    ``pdf_bomb`` (a stream decodes to more than the allowed size), ``pdf_active_content``
    (active content that could not be removed), ``final_active_content`` (active content in
    a document about to be sealed); both with params: kinds, codes of
    :data:`.pdf_sanitize.ACTIVE_KINDS`.
    """

    code = "pdf_damaged"


class ImageInvalid(EngineError):
    """A signature image was refused. Codes: ``image_empty``, ``image_format`` (not PNG/JPEG,
    SVG included), ``image_too_large`` (bytes), ``image_dimensions`` (too small or too big),
    ``image_damaged``."""

    code = "image_damaged"


# --- Providers --------------------------------------------------------------------------
class ProviderError(EngineError):
    code = "provider_error"


class ProviderUnavailable(ProviderError):
    """Timeout, connection error, 5xx or 429: try again later. ``retry_after`` (seconds) is
    set when the provider said when. Codes: ``provider_timeout``, ``provider_unreachable``,
    ``provider_server_error``, ``provider_rate_limited``."""

    code = "provider_unavailable"
    retryable = True

    def __init__(self, detail="", code=None, retry_after=None, status=None, **params):
        super().__init__(detail, code=code, **params)
        self.retry_after = retry_after
        self.status = status


class ProviderRejected(ProviderError):
    """The provider refused the call (4xx other than 401/403/429). Codes:
    ``provider_rejected``, ``provider_not_found``, ``provider_bad_response`` (malformed
    JSON or an unexpected shape)."""

    code = "provider_rejected"

    def __init__(self, detail="", code=None, status=None, **params):
        super().__init__(detail, code=code, **params)
        self.status = status


class ProviderAuthError(ProviderError):
    """Credentials missing, wrong or expired (401/403). Code: ``provider_auth``."""

    code = "provider_auth"


class WebhookRejected(EngineError):
    """An inbound webhook failed verification. Codes: ``webhook_no_secret``,
    ``webhook_bad_signature``, ``webhook_stale``, ``webhook_malformed``."""

    code = "webhook_bad_signature"


class UnsafeUrl(EngineError):
    """An outbound URL is not allowed (not https, or not a public address). Code:
    ``url_unsafe``."""

    code = "url_unsafe"


# --- Sealing ----------------------------------------------------------------------------
class SealError(EngineError):
    """Sealing failed for a reason a retry will not fix. Codes: ``seal_failed``,
    ``seal_pdf_unsupported``."""

    code = "seal_failed"


class TimestampUnavailable(SealError):
    """The RFC 3161 timestamp server did not answer usefully: the document waits."""

    code = "tsa_unavailable"
    retryable = True


class CertificateInvalid(EngineError):
    """A seal certificate was refused. Codes: ``cert_pkcs12_invalid``,
    ``cert_bad_password``, ``cert_no_key``, ``cert_expired``, ``cert_not_yet_valid``,
    ``cert_key_usage`` (needs digitalSignature and nonRepudiation)."""

    code = "cert_pkcs12_invalid"


# --- Stamping ---------------------------------------------------------------------------
class StampInvalid(EngineError):
    """The values to stamp do not fit the document (stale field data or a caller bug). Codes:
    ``stamp_bad_value`` (not a StampValue, or an unknown kind), ``stamp_bad_page`` (params:
    page, pages), ``stamp_bad_box`` (empty, not finite, or outside the page),
    ``stamp_bad_image`` (a signature/initials value without a PNG/JPEG image)."""

    code = "stamp_invalid"


# --- Rendering --------------------------------------------------------------------------
class RenderInvalid(EngineError):
    """A page render was asked with values that do not fit the document (a stale URL or a
    caller bug). Codes: ``render_bad_page`` (params: page, pages), ``render_bad_option``
    (params: option, value: width, format or quality out of range or unsupported)."""

    code = "render_bad_page"
