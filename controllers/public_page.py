"""What every public page of digital_sign shares: the signing page (and its "link not found"
page), the verification page, and the signed documents served to the portal.

- ``NO_STORE``: the headers of every such page and file. Links carry credentials (a token in
  the path) and pages show personal data: no cache, no referrer, no framing.
- :func:`render`: a QWeb page with those headers and a status.
- :func:`not_found`: the one answer to a bad signing link, a static page that nothing in it
  tells one failure from another.
- :func:`log_download_once`: the audit event of a signed document downloaded, bounded.
- :func:`chosen_lang`, :func:`use_lang`: the language a reader chose on a page (``?lang=``,
  validated against the installed languages the pages offer, remembered in the browser
  session) and the language and time zone the request then renders and answers in.
- The client's address and browser: ``utils.client_info`` (the audit trail uses it too).
- :func:`style_sheet`: the pages' own style sheet, the asset bundle ``ASSETS``, in the head of
  ``digital_sign.signing_layout`` and of the not-found page, so that the first page of a
  document paints before Odoo's frontend bundle arrives (at the end of the body).
"""

from markupsafe import Markup

from odoo.http import request

from .. import const
from ..utils import html_lang

ASSETS = "digital_sign.public_page_assets"
_STYLE_SHEETS = {}  # version of the bundle's CSS -> the compiled CSS (per process)
DOWNLOADS_SESSION_KEY = "digital_sign_downloads"
LANGS_SESSION_KEY = "digital_sign_langs"  # page key -> language chosen on that page
MAX_SESSION_LANGS = 50  # pages remembered per session (the session stays small)
MAX_SESSION_DOWNLOADS = 100  # keys remembered per session (the session stays small)
NO_STORE = {
    "Cache-Control": "no-store, max-age=0",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
}


def no_store(response):
    """Give ``response`` the headers of a public page (``NO_STORE``) and return it."""
    response.headers.update(NO_STORE)
    return response


def style_sheet():
    """The style sheet of the public pages: the bundle ``ASSETS`` as Odoo compiles it, for a
    ``<style>`` in the page's head. Inlined rather than linked (``t-call-assets``): a linked
    style sheet is one more request, to a busy worker, before anything paints, and the first
    page of a document must paint with the HTML and its image alone (measured side by side
    with ``./scripts/bench portal``'s first-paint measure, 2 workers on 2 cores: 50 to 150 ms
    later with the link). Compiled once per process and version of the bundle's files."""
    bundle = request.env["ir.qweb"]._get_asset_bundle(ASSETS, js=False)
    version = bundle.get_version("css")
    if version not in _STYLE_SHEETS:
        _STYLE_SHEETS.clear()
        # Our own static files, compiled by Odoo: a constant, not data.
        _STYLE_SHEETS[version] = Markup(bundle.preprocess_css())
    return _STYLE_SHEETS[version]


def render(template, values, status=200):
    """Render the QWeb ``template`` with ``values`` as a public page with ``status`` (its
    style sheet is given as ``public_page_css``, the language of ``<html lang>`` as
    ``html_lang`` and ``html_data``, unless ``values`` say otherwise)."""
    # <html lang>: the language the page is rendered in (web.frontend_layout's html_data)
    lang_tag = (request.env.lang or "en_US").split("@")[0].replace("_", "-")
    defaults = {
        "public_page_css": style_sheet(),
        # The frontend bundle's style sheets (their links are cached by Odoo), asked for by
        # the page once its first page shows: see the layout, views/digital_sign_templates.xml
        "frontend_style_links": request.env["ir.qweb"]._get_asset_links(
            "web.assets_frontend", css=True, js=False
        ),
        "html_lang": lang_tag,
        "html_data": {"lang": lang_tag},
    }
    if "allowed_company_ids" not in request.env.context:
        # QWeb reads the visitor's company (``env.company``) for every page: read that
        # column alone, not the whole wide user record (a third of the rendering's time,
        # py-spy on ./scripts/bench portal). See ``use_company``.
        request.env.user.fetch(["company_id"])
    response = request.render(template, {**defaults, **values})
    response.status_code = status
    return no_store(response)


def not_found(status=404):
    """The one answer to any bad link (404, or 429 once an address guessed too often).
    Returned, not raised, so that the caller's failure counter is committed."""
    values = {"status": status, "html_lang": html_lang(request.env.lang)}
    return render("digital_sign.signing_not_found", values, status=status)


def log_download_once(sign_request_sudo, key, participant_sudo=None, channel="web", details=None):
    """Log the download of a signed document once per browser session, and at most
    ``THROTTLE_DOWNLOAD_LOGS_PER_DOCUMENT`` times a day per document for clients that
    keep no session (each GET of a cookieless client is a new session): repeated GETs never
    grow the audit trail without bound.

    :param str key: what was downloaded, unique per document and reader
    """
    done = list(request.session.get(DOWNLOADS_SESSION_KEY) or [])
    if key in done:
        return
    Throttle = request.env["digital.sign.throttle"]
    throttle_key = f"download_log:{sign_request_sudo.id}"
    if Throttle._is_limited(throttle_key, const.THROTTLE_DOWNLOAD_LOGS_PER_DOCUMENT, const.DAY):
        return
    Throttle._hit(throttle_key, const.DAY)
    sign_request_sudo._log_event(
        "downloaded",
        participant=participant_sudo,
        channel=channel,
        details=details or {"document": "signed"},
    )
    request.session[DOWNLOADS_SESSION_KEY] = [*done, key][-MAX_SESSION_DOWNLOADS:]


def valid_lang(value):
    """``value`` (a ``?lang=`` parameter or a remembered choice, of any type) as the code of
    an installed language the public pages offer (``sv_SE``; ``sv-SE`` is read the same),
    or None: an unknown, malformed or hostile value is no choice at all."""
    if not isinstance(value, str) or not 2 <= len(value) <= 16 or not value.isascii():
        return None
    code = value.replace("-", "_")
    return code if request.env["digital.sign.participant"]._is_signing_lang(code) else None


def chosen_lang(key, value=None):
    """The language the reader chose for the page ``key`` (a participant's page, the
    verification page) in this browser session: ``value`` when it is a valid choice (it is
    then remembered for the next pages and calls), else the one remembered, else None.
    A value that is no valid choice changes nothing."""
    remembered = request.session.get(LANGS_SESSION_KEY)
    langs = dict(remembered) if isinstance(remembered, dict) else {}
    code = valid_lang(value)
    if not code:
        return valid_lang(langs.get(key))
    if langs.get(key) != code:
        langs.pop(key, None)
        langs[key] = code
        request.session[LANGS_SESSION_KEY] = dict(list(langs.items())[-MAX_SESSION_LANGS:])
    return code


def use_company(company):
    """Render the page as ``company``'s (QWeb's ``res_company``), the company of the document
    it shows, when the visitor's user belongs to it (the public user usually belongs to the
    main company only): QWeb then needs no read of the visitor's user record at all."""
    if company.id in request.env.user._get_company_ids():
        request.update_context(allowed_company_ids=[company.id])


def use_lang(lang, tz=None):
    """Render and answer the rest of this request in ``lang`` (templates, messages) and, when
    given, the time zone ``tz``."""
    context = {"lang": lang}
    if tz:
        context["tz"] = tz
    request.update_context(**context)
