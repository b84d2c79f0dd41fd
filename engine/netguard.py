"""Outbound URL checks (SSRF guard) for URLs that come from configuration, such as a
timestamp server: https only, and every address the name resolves to must be public.

Python 3.11's ``ipaddress`` says ``::ffff:127.0.0.1`` is not loopback and ``64:ff9b::a9fe:a9fe``
is global, so IPv4-mapped, NAT64 and 6to4 addresses are unwrapped before the check.
Loopback is accepted only when the caller allows it (local test servers).
"""

import ipaddress
import socket
import urllib.parse

from .errors import UnsafeUrl

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_SHARED = ipaddress.ip_network("100.64.0.0/10")


def _unwrap(address):
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return address.ipv4_mapped
        if address in _NAT64 or address in _NAT64_LOCAL:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if address.sixtofour:
            return address.sixtofour
        if address.teredo:
            return address.teredo[1]
    return address


def is_public_address(address):
    address = _unwrap(ipaddress.ip_address(address))
    return address.is_global and address not in _SHARED and not address.is_multicast


def is_loopback_address(address):
    return _unwrap(ipaddress.ip_address(address)).is_loopback


def is_loopback_url(url):
    """True when ``url`` names ``localhost`` or a loopback address literal (no DNS look-up):
    the only URLs a configuration override may point a client at (local test servers)."""
    try:
        host = urllib.parse.urlsplit(url or "").hostname or ""
    except ValueError:
        return False
    if host == "localhost":
        return True
    try:
        return is_loopback_address(host)
    except ValueError:
        return False


def check_outbound_url(url, *, allow_loopback=False, resolver=socket.getaddrinfo):
    """Return the parsed URL if it may be called, else raise ``UnsafeUrl``.

    :param url: an absolute URL from configuration
    :param allow_loopback: accept http(s) to 127.0.0.1/::1/localhost (local test servers)
    :param resolver: ``socket.getaddrinfo``-compatible callable (injectable for tests)
    """
    parsed = urllib.parse.urlsplit(url or "")
    host = parsed.hostname
    if not host or parsed.scheme not in ("https", "http") or parsed.username or parsed.password:
        raise UnsafeUrl(f"not an absolute http(s) URL: {url!r}")
    try:
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeUrl(f"bad port in {url!r}") from exc
    try:
        infos = resolver(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnsafeUrl(f"cannot resolve {host!r}: {exc}") from exc
    addresses = {info[4][0] for info in infos}
    if not addresses:
        raise UnsafeUrl(f"{host!r} resolves to nothing")
    if allow_loopback and all(is_loopback_address(a) for a in addresses):
        return parsed
    if parsed.scheme != "https":
        raise UnsafeUrl(f"only https is allowed: {url!r}")
    bad = sorted(a for a in addresses if not is_public_address(a))
    if bad:
        raise UnsafeUrl(f"{host!r} resolves to non-public addresses {bad}")
    return parsed
