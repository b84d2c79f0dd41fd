"""E-signature provider clients (GetAccept, DocuSign) behind one interface.

    from odoo.addons.digital_sign.engine import providers
    client = providers.get_client("docusign", credentials, base_url=None)
    created = client.create_envelope(providers.Envelope(...))

See :mod:`.base` for the values and the interface, and each module for its credentials.
"""

from .base import (
    TOKEN_CACHE,
    CreatedEnvelope,
    Envelope,
    EnvelopeStatus,
    FieldPlacement,
    ProviderClient,
    Recipient,
    RecipientStatus,
    TokenCache,
    WebhookEvent,
    needs_recipients,
)
from .docusign import DEMO_BASE_URL, DocuSignClient
from .getaccept import GETACCEPT_BASE_URL, GetAcceptClient

CLIENTS = {
    GetAcceptClient.code: GetAcceptClient,
    DocuSignClient.code: DocuSignClient,
}


def get_client(code, credentials, **kwargs):
    """Return the client for provider ``code`` ('getaccept', 'docusign').

    :param kwargs: ``base_url``, ``session``, ``clock``, ``token_cache``, ``timeout`` (and
        ``oauth_base_url`` for DocuSign)
    :raise KeyError: unknown code
    """
    return CLIENTS[code](credentials, **kwargs)


__all__ = [
    "CLIENTS",
    "DEMO_BASE_URL",
    "GETACCEPT_BASE_URL",
    "TOKEN_CACHE",
    "CreatedEnvelope",
    "DocuSignClient",
    "Envelope",
    "EnvelopeStatus",
    "FieldPlacement",
    "GetAcceptClient",
    "ProviderClient",
    "Recipient",
    "RecipientStatus",
    "TokenCache",
    "WebhookEvent",
    "get_client",
    "needs_recipients",
]
