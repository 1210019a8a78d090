"""Keep requests to URLs our clients name from being turned against our own network (SSRF).

A webhook URL, or an ``input_reference`` image URL, is the client's choice of where our servers
send requests. We refuse schemes other than https (http only if the operator allows it),
credentials in URLs, and any destination that resolves to a loopback, private, link-local (which
includes the cloud metadata address 169.254.169.254), multicast, reserved or otherwise non-global
address.

For webhooks the check runs twice: when a URL is registered (a clear error for the client), and at
delivery time on the very address the sender then connects to (``Destination.address``). The
transport never resolves the name again, so a name that resolved to a public address at
registration and to 127.0.0.1 later (DNS rebinding) cannot get through. Operators may allow
specific names or networks (``VIDEOGEN_WEBHOOK_ALLOWED_HOSTS``): an internal receiver, local
development, tests.

Messages name what the URL is for (``purpose``: "webhook" by default, "image" for input images),
since they go to the client as they are.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from videogen.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]

MAX_URL_LENGTH = 2048


class WebhookURLError(ValueError):
    """The URL may not be reached (webhooks, image URLs); the message says why, for the client.
    Final: retrying the same URL cannot help."""

    retryable = False


class WebhookResolutionError(WebhookURLError):
    """The name did not resolve right now; at delivery time that is worth a retry."""

    retryable = True


@dataclass(frozen=True)
class Destination:
    """Where to connect: the vetted address, and the name for Host, SNI and certificate checks."""

    url: str
    scheme: str
    host: str
    port: int
    address: str
    target: str  # path and query, as sent in the request line

    @property
    def connect_url(self) -> str:
        """The URL with the vetted address in place of the name (so nothing resolves it again)."""
        address = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.scheme}://{address}:{self.port}{self.target}"

    @property
    def host_header(self) -> str:
        default_port = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default_port else f"{host}:{self.port}"


def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise WebhookResolutionError(f"cannot resolve host {host!r}: {exc}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def forbidden_reason(address: IPAddress) -> str | None:
    """Why our requests must not reach ``address``, or None if it is a public unicast address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    checks = [
        ("loopback", address.is_loopback),
        ("unspecified", address.is_unspecified),
        ("link-local (cloud metadata)", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("non-public", not address.is_global),
    ]
    return next((name for name, hit in checks if hit), None)


def _as_network(text: str) -> Network | None:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


class WebhookURLPolicy:
    """Which URLs this deployment accepts (webhooks, image URLs), and where exactly a request connects."""

    def __init__(self, allow_http: bool, allowed_hosts: list[str], resolver: Resolver = system_resolver):
        self.allow_http = allow_http
        self.allowed_networks = [n for h in allowed_hosts if (n := _as_network(h)) is not None]
        self.allowed_names = {h.strip().lower() for h in allowed_hosts if _as_network(h) is None}
        self.resolver = resolver

    def check_syntax(self, url: str, purpose: str = "webhook") -> tuple[str, str, int, str]:
        """Scheme, host, port and request target of ``url``, or why it cannot be a ``purpose`` URL."""
        if len(url) > MAX_URL_LENGTH:
            raise WebhookURLError(f"{purpose} URLs are at most {MAX_URL_LENGTH} characters")
        if any(ord(character) < 0x20 or character == "\x7f" for character in url):
            raise WebhookURLError(f"{purpose} URLs must not contain control characters")
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError:
            raise WebhookURLError(f"{purpose} URL is not a valid URL") from None
        scheme = parts.scheme.lower()
        if scheme not in ("https", "http"):
            raise WebhookURLError(f"{purpose} URLs must start with https://")
        if scheme == "http" and not self.allow_http:
            raise WebhookURLError(f"{purpose} URLs must use https (this server does not allow http)")
        if not parts.hostname:
            raise WebhookURLError(f"{purpose} URL has no host")
        if parts.username is not None or parts.password is not None:
            raise WebhookURLError(f"{purpose} URLs must not contain credentials")
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return scheme, parts.hostname.lower(), port or (443 if scheme == "https" else 80), target

    def _allowed(self, host: str, address: IPAddress) -> bool:
        return host in self.allowed_names or any(address in network for network in self.allowed_networks)

    def resolve(self, url: str, purpose: str = "webhook") -> Destination:
        """The vetted address to connect to for ``url``, or ``WebhookURLError``. Every address the
        name resolves to must pass, so a mixed answer cannot smuggle a private one in. ``purpose``
        names the URL in messages ("webhook", "image")."""
        scheme, host, port, target = self.check_syntax(url, purpose)
        try:
            literal: IPAddress | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        addresses = [str(literal)] if literal is not None else self.resolver(host, port)
        if not addresses:
            raise WebhookResolutionError(f"{purpose} host {host!r} does not resolve to any address")
        for text in addresses:
            address = ipaddress.ip_address(text.split("%")[0])
            reason = forbidden_reason(address)
            if reason and not self._allowed(host, address):
                raise WebhookURLError(
                    f"{purpose} host {host!r} resolves to a {reason} address ({address}); "
                    f"{purpose} URLs may only point to public addresses"
                )
        return Destination(
            url=url, scheme=scheme, host=host, port=port, address=addresses[0].split("%")[0], target=target
        )


def url_policy(settings: Settings) -> WebhookURLPolicy:
    """This deployment's policy, from ``VIDEOGEN_WEBHOOK_ALLOW_HTTP`` and ``..._ALLOWED_HOSTS``."""
    return WebhookURLPolicy(settings.webhook_allow_http, settings.webhook_allowed_hosts)
