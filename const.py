"""Constants of digital_sign: states, event types, provider features, defaults, and the
translated messages for the engine's error codes."""

from odoo.tools.translate import LazyTranslate

_lt = LazyTranslate(__name__)
# pylint: disable=prefer-env-translation  # module-level _lt: no env here (LazyTranslate, as in Odoo 19)

# === PATHS === #
# Each path is written here once: its builder formats it with values, its route with
# werkzeug converters (``<int:participant_id>``...).
# The languages a participant may read the signing page, mails, SMS and certificate in (when
# installed): English and the languages the addon ships translations for (i18n/).
SIGNING_LANGS = ("en", "sv", "fr", "zh_CN", "de", "es")
SIGNING_PATH_PREFIX = "/digital_sign/s/"
SIGNING_PATH = SIGNING_PATH_PREFIX + "{participant_id}/{token}"  # a participant's signing page
PLACES_PAGE_PATH = "/digital_sign/backend/page/{request_id}/{page}"  # the places editor's images
TEMPLATE_PAGE_PATH = "/digital_sign/backend/template/{template_id}/{page}"  # same, a template's
# "Sign now" (signing in person): the sender's one-time link that hands the device over
HOSTED_PATH = "/digital_sign/hosted/{participant_id}/{token}"

# === STATES === #
REQUEST_STATES = [
    ("draft", "Draft"),
    ("sent", "Sent"),
    ("viewed", "Viewed"),
    ("signed", "Signed"),
    ("rejected", "Rejected"),
    ("cancelled", "Cancelled"),
    ("expired", "Expired"),
]
LIVE_REQUEST_STATES = ("draft", "sent", "viewed")
OPEN_REQUEST_STATES = ("sent", "viewed")  # out with the signers
FINAL_REQUEST_STATES = ("signed", "rejected", "cancelled", "expired")

PARTICIPANT_STATES = [
    ("waiting", "Waiting"),
    ("sent", "Invited"),
    ("viewed", "Viewed"),
    ("signed", "Signed"),
    ("rejected", "Rejected"),
    ("expired", "Expired"),
    ("skipped", "Skipped"),
]
PARTICIPANT_FINAL_STATES = ("signed", "rejected", "expired", "skipped")
# Who a participant is: a person who signs on the signing page, or the company itself,
# whose seal image a seal keeper applies from the backend (no link, no message).
PARTICIPANT_KINDS = [("person", "Person"), ("company", "Company seal")]
# The places a company signatory may have: its seal goes on signatures and initials, the
# date on dates; nothing else is filled without a person.
COMPANY_SEAL_FIELD_KINDS = ("signature", "initials", "date")

FIELD_KINDS = [
    ("signature", "Signature"),
    ("initials", "Initials"),
    ("date", "Date"),
    ("text", "Text"),
    ("checkbox", "Checkbox"),
]
# Size in points of a place added by hand (the signature's comes from Settings).
PLACE_DEFAULT_SIZES = {
    "initials": (60, 30),
    "date": (90, 18),
    "text": (150, 18),
    "checkbox": (14, 14),
}
# What the places editor may change on a place (besides its box: x0, y0, width, height).
PLACE_EDITOR_KEYS = ("page", "kind", "role", "participant_id", "mandatory")
FIELD_SOURCES = [
    ("anchor", "Text anchor"),
    ("link", "Report anchor"),
    ("arrow_glyph", "Arrow"),
    ("arrow_image", "Arrow image"),
    ("manual", "Placed by hand"),
]
CHANNELS = [("email", "E-mail"), ("sms", "SMS")]
# A reminder plan: the settings' one, a plan of its own, or none.
REMINDER_MODES = [
    ("settings", "As in the settings"),
    ("custom", "Own plan"),
    ("none", "No reminders"),
]
MESSAGE_PURPOSES = [
    ("invitation", "Invitation"),
    ("reminder", "Reminder"),
    ("code", "One-time code"),
    ("signed_document", "Signed document"),
]
OTP_CHANNELS = [("none", "None"), ("email", "E-mail"), ("sms", "SMS")]

SEAL_STATES = [
    ("none", "Not sealed"),
    ("pending", "Sealing"),
    ("sealed", "Sealed"),
    ("unsealed", "Sealing skipped"),
]
SEAL_WAIT_HOURS = 24  # waiting for the timestamp server: then the owner is told, fallback applies

EVENT_TYPES = [
    ("created", "Created"),
    ("sanitized", "Active content removed"),
    ("sent", "Sent"),
    ("invited", "Invitation sent"),
    ("invite_failed", "Invitation failed"),
    ("viewed", "Viewed"),
    ("opened_logged_in", "Opened while logged in"),
    ("consent", "Consent given"),
    ("code_sent", "Code sent"),
    ("code_send_failed", "Code not sent"),
    ("code_verified", "Code verified"),
    ("code_failed", "Code failed"),
    ("code_locked", "Code locked"),
    ("signed", "Signed"),
    ("rejected", "Rejected"),
    ("completed", "Completed"),
    ("finalized", "Final document ready"),
    ("finalize_refused", "Final document refused"),
    ("cancelled", "Cancelled"),
    ("expired", "Expired"),
    ("reminded", "Reminder sent"),
    ("contact_changed", "Contact changed"),
    ("participant_named", "Participant named"),
    ("participant_skipped", "Participant skipped"),
    ("link_requested", "New link requested"),
    ("downloaded", "Downloaded"),
    ("reset", "Reset to draft"),
    ("deadline_changed", "Deadline changed"),
    ("message_sent", "Message delivered to the sender's gateway"),
    ("message_failed", "Message not delivered"),
    ("provider_status", "Provider status"),
    ("provider_error", "Provider error"),
    ("provider_inconsistent", "Service status inconsistent"),
    ("provider_cancelled", "Cancelled at the service"),
    ("provider_cancel_failed", "Cancellation at the service failed"),
    ("sealed", "Sealed"),
    ("seal_failed", "Sealing failed"),
    ("seal_fallback", "Sealed without timestamp"),
    ("seal_waiting", "Waiting for the timestamp server"),
    ("seal_overdue", "Timestamp server down for 24 hours"),
    ("approval_requested", "Approval requested"),
    ("approval_approved", "Approved before sending"),
    ("approval_rejected", "Rejected before sending"),
    ("approval_reset", "Approval requested again"),
    ("filed", "Filed"),
    ("filing_failed", "Filing failed"),
    ("copy_queued", "Signed copy queued"),
    ("copy_sent", "Signed copy sent"),
    ("copy_failed", "Signed copy not sent"),
    ("copy_bounced", "Signed copy bounced"),
    ("company_seal_applied", "Company seal applied"),
    ("in_person", "Signing in person"),
]
# The steps of a document's course, from its sending to its end (EVENT_TYPES codes).
STEP_EVENT_TYPES = (
    "sent",
    "viewed",
    "signed",
    "rejected",
    "completed",
    "finalized",
    "cancelled",
    "expired",
)

# What engine.pdf_sanitize removes from an upload, by its stable code (ACTIVE_KINDS).
ACTIVE_CONTENT_LABELS = {
    "javascript": _lt("JavaScript"),
    "open_action": _lt("An action run when the document opens"),
    "additional_actions": _lt(
        "Actions run on events (opening a page, entering a field, printing...)"
    ),
    "launch": _lt("Commands that start a program or open a file"),
    "embedded_file": _lt("Embedded files"),
    "xfa": _lt("XFA form"),
    "rich_media": _lt("Rich media (Flash and similar)"),
    "multimedia": _lt("Sound, video or 3D"),
    "form_submission": _lt("Form submission or data import"),
    "remote_goto": _lt("Links that open another document"),
    "unsafe_link": _lt("Links other than web, e-mail or phone addresses (javascript:, file:...)"),
}

# Kinds of digital quotes, each with its own e-mail template and SMS wording.
SALE_DOCUMENT_KINDS = [
    ("quote", "Quote"),
    ("quick_quote", "Quick quote"),
    ("upsell", "Upsell"),
    ("order_confirmation", "Order confirmation"),
]

# === FILING AND OUTBOUND COPIES === #
# What filing and outbound rules match on: a quotation's kind, a ticket, anything else.
RULE_DOCUMENT_KINDS = [
    *SALE_DOCUMENT_KINDS,
    ("ticket", "Helpdesk ticket"),
    ("other", "Other document"),
]
FILING_STATES = [
    ("none", "Not filed yet"),
    ("no_rule", "No filing rule"),
    ("filed", "Filed"),
    ("failed", "Filing failed"),
]
# The fate of a signed copy sent to an extra recipient. Only the flow moves it, forward.
COPY_STATES = [
    ("pending", "To send"),
    ("queued", "Queued"),
    ("sent", "Sent"),
    ("failed", "Not sent"),
    ("bounced", "Bounced"),
]
COPY_SOURCES = [("sender", "Sender"), ("rule", "Outbound rule")]

# === PROVIDERS === #
PROVIDER_CODES = [
    ("portal", "Built-in signing page"),
    ("getaccept", "GetAccept"),
    ("docusign", "DocuSign"),
]
# What the built-in signing page offers. A signature service's features (and rules, such as
# DocuSign's one status request per 15 minutes) are its engine client's: engine/providers.
# Views and code test the provider's support_* fields, never codes.
PORTAL_FEATURES = frozenset({"sms", "otp", "signing_order", "reminders", "customer_named"})
# Withdrawing an envelope at the service after a local cancel: retried with a growing delay
# (or the service's Retry-After), then the owner is told and the queue stops.
PROVIDER_CANCEL_STATES = [
    ("none", "Nothing to withdraw"),
    ("pending", "Cancel pending at the service"),
    ("done", "Cancelled at the service"),
    ("failed", "Cancel failed at the service"),
]
PROVIDER_OWNER_TOLD_AFTER = 5  # failures in a row of a service's calls before the owner is told
PROVIDER_MAX_SEND_ATTEMPTS = 20  # the outbox stops (and tells the owner) after these (~2 weeks)
PROVIDER_CANCEL_MAX_ATTEMPTS = 8
PROVIDER_CANCEL_FIRST_DELAY = 5 * 60  # seconds, doubled after each failure
PROVIDER_CANCEL_MAX_DELAY = 6 * 3600

# === AUDIT TRAIL ANCHORS === #
ANCHOR_MODES = [("hmac", "HMAC (key outside the database)"), ("tsa", "RFC 3161 timestamp")]
ANCHOR_TRIGGERS = [("signed", "Signature"), ("completed", "Completion"), ("daily", "Daily")]
ANCHOR_EVENT_TYPES = ("signed", "completed")  # events whose head is anchored at once
# odoo.conf options (kept outside the database): the key text, or a file holding it
ANCHOR_KEY_OPTION = "digital_sign_anchor_key"
ANCHOR_KEY_FILE_OPTION = "digital_sign_anchor_key_file"

# === DEFAULTS (ir.config_parameter digital_sign.<key>) === #
DEFAULTS = {
    "arrow_width": 18.0,
    "arrow_height": 22.0,
    "signature_width": 100.0,
    "signature_height": 50.0,
    "signature_offset_x": 2.0,
    "signature_offset_y": 0.0,
    "single_signature_timeout": 600,
    "default_validity_days": 30,
    "max_upload_mb": 20,
    "max_pages": 500,
    "reminder_first_days": 3,
    "reminder_interval_days": 3,
    "reminder_max": 5,
    "poll_interval_minutes": 30,
    "cron_batch_size": 100,
    "audit_retention_years": 0,
    "live_links_for_readers": False,
    "signed_link_days": 30,
}

# Who sees a document's live signing links (and the current one-time code) besides its
# owner: a link is a bearer credential. "Links for everyone who sees the document" in the
# settings widens it to every reader (contact centres pasting links into a chat).
LIVE_LINK_GROUPS = (
    "digital_sign.group_manager",
    "sales_team.group_sale_manager",
    "helpdesk_mgmt.group_helpdesk_manager",
)

OTP_TTL_SECONDS = 10 * 60
# "Sign now": the sender's hand-over link lives this long and works once (then the
# participant's page opens in a fresh session, the sender logged out).
HOSTED_LINK_TTL_SECONDS = 5 * 60
OTP_MAX_FAILURES = 5
OTP_LOCK_SECONDS = 15 * 60
OTP_RESEND_SECONDS = 60
OTP_MAX_FAILURES_PER_DAY = 10  # wrong codes of a participant over 24 hours, across resends
OTP_DAY_LOCK_SECONDS = 24 * 3600  # ... then signing is locked this long
DAY = 24 * 3600
THROTTLE_BAD_TOKENS_PER_IP = 30  # per 10 minutes
THROTTLE_CODE_SENDS_PER_IP = 20  # per 15 minutes
THROTTLE_VERIFY_PER_IP = 20  # document checks on the public verification page, per 10 minutes
# Public actions that send a message or write rows, per DAY (a participant acting from their
# own link, and an IP address whatever link it uses).
THROTTLE_REENGAGE_PER_PARTICIPANT = 5
THROTTLE_REENGAGE_PER_IP = 10
THROTTLE_NAME_PER_PARTICIPANT = 5
THROTTLE_NAME_PER_IP = 20
THROTTLE_NEW_LINK_PER_PARTICIPANT = 1
THROTTLE_NEW_LINK_PER_IP = 5
THROTTLE_DOWNLOAD_LOGS_PER_DOCUMENT = 20  # "downloaded" events a day at most (cookieless clients)
# Bounded state: slices per window, and rows per scope (the key's part before ':').
THROTTLE_BUCKETS = 10
THROTTLE_MAX_ROWS_PER_SCOPE = 10000

# The verification page: its outcome for each engine.pades_verify.STATUSES, and how many
# revision prefixes of an uploaded file are looked up among the signed documents
SEAL_VERIFY_OUTCOMES = {
    "valid": "valid",
    "modified_after_sealing": "modified",
    "bytes_appended": "appended",
    "seal_broken": "broken",
    "not_our_seal": "not_our_seal",
    "untrusted": "untrusted",
    "no_signature": "unknown",
    "damaged": "damaged",
    "refused": "refused",
}
SEAL_VERIFY_MAX_CANDIDATES = 1000

# What changed after sealing (engine.pdf_changes.Change), on the verification page
SEAL_CHANGE_MESSAGES = {
    "signature_added": _lt("Another signature was added, by %(signer)s."),
    "signature_added_unnamed": _lt("Another signature was added."),
    "page_added": _lt("A page was added."),
    "page_added_plural": _lt("%(count)s pages were added."),
    "page_removed": _lt("A page was removed."),
    "page_removed_plural": _lt("%(count)s pages were removed."),
    "page_content": _lt("The content of page %(page)s changed."),
    "annotations": _lt("Annotations were added or changed on page %(page)s."),
    "form_fields": _lt("Form fields were added, filled in or changed."),
    "other": _lt("Other parts of the file were changed."),
}

ENGINE_ERROR_MESSAGES = {
    "pdf_empty": _lt("The file is empty."),
    "pdf_not_pdf": _lt("This file is not a PDF document."),
    "pdf_damaged": _lt("This PDF is damaged and cannot be read."),
    "pdf_encrypted": _lt(
        "This PDF is protected by a password. Remove the protection and upload it again."
    ),
    "pdf_no_pages": _lt("This PDF has no pages."),
    "pdf_too_large": _lt("This PDF is too large (%(size)s MB; the limit is %(limit)s MB)."),
    "pdf_too_many_pages": _lt("This PDF has too many pages (%(pages)s; the limit is %(limit)s)."),
    "pdf_bomb": _lt("This PDF expands to an excessive size when read and was refused."),
    "pdf_active_content": _lt(
        "This PDF carries active content that could not be removed: %(kinds)s."
    ),
    "final_active_content": _lt(
        "The final document carries active content (%(kinds)s): it is not sealed."
    ),
    "image_empty": _lt("The signature is empty."),
    "image_format": _lt("A signature image must be a PNG or JPEG picture."),
    "image_too_large": _lt("The signature image is too large (at most 1 MB)."),
    "image_dimensions": _lt("The signature image has unusable dimensions."),
    "image_damaged": _lt("The signature image could not be read."),
    "provider_timeout": _lt("The signature service did not answer in time. It will be retried."),
    "provider_unreachable": _lt("The signature service could not be reached. It will be retried."),
    "provider_server_error": _lt("The signature service had an error. It will be retried."),
    "provider_rate_limited": _lt(
        "The signature service asked to slow down. The call will be retried later."
    ),
    "provider_unavailable": _lt("The signature service is unavailable. It will be retried."),
    "provider_rejected": _lt("The signature service refused the request: %(detail)s"),
    "provider_not_found": _lt("The signature service does not know this document."),
    "provider_bad_response": _lt("The signature service sent an answer that could not be read."),
    "provider_auth": _lt("The signature service refused the credentials. Check the provider."),
    "provider_error": _lt("The signature service failed."),
    "url_unsafe": _lt("This address is not allowed: only public https addresses are."),
    "seal_failed": _lt("The document could not be sealed."),
    "seal_pdf_unsupported": _lt("This PDF cannot be sealed."),
    "tsa_unavailable": _lt("The timestamp server is unavailable. Sealing will be retried."),
    "cert_pkcs12_invalid": _lt("This file is not a readable PKCS#12 certificate."),
    "cert_bad_password": _lt("The certificate password is wrong."),
    "cert_no_key": _lt("The certificate file holds no private key."),
    "cert_expired": _lt("The certificate has expired."),
    "cert_not_yet_valid": _lt("The certificate is not valid yet."),
    "cert_key_usage": _lt(
        "The certificate must allow digital signature and non-repudiation (content commitment)."
    ),
    "cert_revoked": _lt("The certificate was revoked by its certification authority."),
    "seal_timestamp_required": _lt(
        "This seal level needs a timestamp server: configure one in the settings."
    ),
    "seal_revocation_unavailable": _lt(
        "The revocation information of the certificates could not be obtained, so the "
        "long-term seal level cannot be reached."
    ),
    "stamp_invalid": _lt("The signed values do not fit the document."),
    "stamp_bad_value": _lt("A signed value could not be written on the document."),
    "stamp_bad_page": _lt(
        "A signature place points to page %(page)s, but the document has %(pages)s."
    ),
    "stamp_bad_box": _lt("A signature place lies outside its page."),
    "stamp_bad_image": _lt("A signature is missing its image."),
    "render_bad_page": _lt("This page does not exist in the document."),
    "render_bad_option": _lt("The page cannot be shown at this size or format."),
    "anchor_key_invalid": _lt(
        "The anchor key of the Odoo configuration is too short: use at least %(minimum)s "
        "random characters."
    ),
    "engine_error": _lt("An unexpected error occurred."),
}

# Why an uploaded company seal image is refused, by the engine's image error code
# (engine.images; the signature's own messages speak of a signature).
COMPANY_SEAL_IMAGE_MESSAGES = {
    "image_empty": _lt("The company seal image is empty."),
    "image_format": _lt("The company seal must be a PNG or JPEG picture."),
    "image_too_large": _lt("The company seal image is too large (at most 1 MB)."),
    "image_dimensions": _lt(
        "The company seal image must be 16 to 4096 pixels wide and 8 to 4096 pixels high "
        "(%(width)s x %(height)s)."
    ),
    "image_damaged": _lt("The company seal image could not be read."),
}

# === LIVE STATUS (bus notifications to the sender's open views) === #
# Audit events after which the sender's open form, lists and kanban reload the document.
LIVE_EVENT_TYPES = frozenset(
    {
        *STEP_EVENT_TYPES,
        "participant_named",
        "participant_skipped",
        "provider_status",
        "reset",
    }
)
LIVE_STATUS_NOTIFICATION = "digital_sign/status"
LIVE_COMPLETED_NOTIFICATION = "digital_sign/completed"

# The columns the signing page's routes read of a link's participant and of its document,
# fetched alone when the link is resolved (controllers/signing.py ``_get_participant_sudo``):
# both models are wide, and fetching every column cost twice as much per read on the signing
# page's GET (py-spy, ``./scripts/bench portal``). A column missing here is still read when
# used, by one more query.
PAGE_PARTICIPANT_FIELDS = (
    "request_id",
    "company_id",
    "name",
    "participant_kind",
    "partner_id",
    "email",
    "mobile",
    "role",
    "mandatory",
    "is_primary",
    "signing_order",
    "invite_channel",
    "otp_channel",
    "lang",
    "to_be_named",
    "access_token",
    "state",
    "signed_at",
    "otp_locked_until",
    "named_by_id",
)
PAGE_REQUEST_FIELDS = (
    "name",
    "reference",
    "company_id",
    "user_id",
    "state",
    "deadline",
    "sending_mode",
    "page_count",
    "page_geometry",
    "original_sha256",
    "signed_sha256",
    "finalize_state",
    "seal_state",
    "provider_id",
)
