"""Small Odoo-side helpers shared by models and controllers."""

import base64
import binascii
import logging
from datetime import UTC

import babel.dates
import pytz

from odoo.http import request as http_request
from odoo.tools.misc import babel_locale_parse, format_datetime

from . import const

_logger = logging.getLogger(__name__)


def engine_error_message(env, error):
    """Return the translated message for an ``engine.errors.EngineError``.

    :param env: an Odoo environment (for the language)
    :param error: the engine error; its ``code`` selects the message and its ``params``
        fill it
    :return: the message as a str
    """
    message = (
        const.ENGINE_ERROR_MESSAGES.get(error.code) or const.ENGINE_ERROR_MESSAGES["engine_error"]
    )
    text = message._translate(env.lang) if hasattr(message, "_translate") else str(message)
    params = dict(getattr(error, "params", {}) or {})
    params.setdefault("detail", getattr(error, "detail", "") or "")
    if isinstance(params.get("kinds"), (list, tuple)):  # codes of active content
        params["kinds"] = ", ".join(active_content_label(env, kind) for kind in params["kinds"])
    try:
        return text % params
    except (KeyError, TypeError, ValueError):
        return text


def active_content_label(env, kind):
    """The translated name of a kind of active content (engine.pdf_sanitize.ACTIVE_KINDS)."""
    label = const.ACTIVE_CONTENT_LABELS.get(kind)
    return env._(label) if label is not None else str(kind)  # env._: en_US without a lang


def decode_binary(value):
    """Return raw bytes from a Binary field value written through the ORM (base64 str or
    bytes). An undecodable value gives b''."""
    if not value:
        return b""
    if isinstance(value, str):
        value = value.encode()
    try:
        return base64.b64decode(value, validate=False)
    except (binascii.Error, ValueError):
        return b""


def client_info():
    """Return ``(ip, user_agent)`` of the current HTTP request, or ('', '') outside one.

    The IP is ``remote_addr``: Odoo rewrites it from X-Forwarded-For only in ``proxy_mode``
    (and when X-Forwarded-Host is present), so a forged header is ignored otherwise.
    """
    try:
        httprequest = http_request.httprequest if http_request else None
    except RuntimeError:  # no request bound to this thread
        httprequest = None
    if not httprequest:
        return "", ""
    # Not httprequest.user_agent: werkzeug's UserAgent is falsy when it cannot parse a browser.
    user_agent = (httprequest.headers.get("User-Agent") or "")[:512]
    return httprequest.remote_addr or "", user_agent


class CheckedPdf:
    """A PDF that went through the intake once, for the many documents that copy it (a
    template sent to many recipients).

    Given in the context as ``digital_sign_checked_pdf`` to the creation of these documents,
    it spares each of them the intake (``values`` describe the file: hashes, pages,
    removed content) and its attachment the decoding and hashing of the file (the file
    store keeps one file per checksum: all the copies share it).

    Only Python code can put one in a context (an RPC context is plain JSON), and it applies
    only to the very value object it was made with (``is``): no caller can pass another
    file off as checked.
    """

    def __init__(self, datas, values):
        """:param datas: the base64 value the documents' Binary field is given
        :param dict values: what ``digital.sign.request._prepare_document_values`` returned
            for it (without ``original_pdf``)
        """
        self.datas = datas
        self.values = dict(values)
        self._raw = None
        self._related = {}

    def matches(self, value):
        """Whether ``value`` is the checked value itself."""
        return value is self.datas

    def raw(self):
        """The file's bytes, decoded once."""
        if self._raw is None:
            self._raw = decode_binary(self.datas)
        return self._raw

    def related_values(self, mimetype, compute):
        """The attachment values derived from the file (checksum, size, store path...),
        computed once per mimetype by ``compute()``; a copy for each caller."""
        if mimetype not in self._related:
            self._related[mimetype] = compute()
        return dict(self._related[mimetype])


def html_lang(code):
    """The BCP 47 tag of an Odoo language code, for ``<html lang>`` and ``lang`` attributes:
    ``sv_SE`` -> ``sv-SE``, ``zh_CN`` -> ``zh-CN``, ``sr@latin`` -> ``sr-Latn``."""
    code = code or "en_US"
    if "@latin" in code:
        return code.split("@")[0].replace("_", "-") + "-Latn"
    return code.split("@")[0].replace("_", "-")


def format_local_time(env, value, tz="UTC", lang="en_US"):
    """A stored UTC datetime as a reader reads it: the date and time format of ``lang``, in
    the time zone ``tz``, followed by the zone's name in that language, e.g.
    "2026-11-23 14:05:00 (centraleuropeisk normaltid)", "2026/11/23 21:05:00 (中国标准时间)".

    :param value: a naive UTC datetime (as stored), or an aware one
    :param str tz: an IANA time zone name; an unknown one counts as UTC
    :param str lang: an installed language code
    :return: the text ('' without a value)
    """
    if not value:
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    try:
        zone = pytz.timezone(tz or "UTC")
    except pytz.UnknownTimeZoneError:
        zone, tz = pytz.utc, "UTC"
    text = format_datetime(env, value, tz=tz, lang_code=lang)
    local = pytz.utc.localize(value).astimezone(zone)
    try:
        zone_name = babel.dates.format_datetime(local, "zzzz", locale=babel_locale_parse(lang))
    except (ValueError, LookupError):  # a locale babel does not know: the zone's own name
        zone_name = tz or "UTC"
    return f"{text} ({zone_name})"
