"""Which webhook URLs graphdock will POST to: langgraph.json's `webhooks.url` policy, and no SSRF.

Checked twice: when a run or cron is created (422 naming the rule), and again right before each
delivery, on the addresses the host resolves to *then* — the sender connects to one of those
checked addresses and never follows a redirect, so neither DNS (rebinding) nor a 3xx can steer a
delivery somewhere the policy forbids.

    loopback (127.0.0.0/8, ::1, localhost)       refused unless disable_loopback is false
    private (10/8, 172.16/12, 192.168/16, …)     refused when disable_private_ips is true
    link-local (cloud metadata), multicast,      always refused
    unspecified, reserved
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from graphdock.errors import InvalidRequest
from graphdock.project import WebhookUrlPolicy

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "host.docker.internal"})
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: private in all but name


class Unresolved(InvalidRequest):
    """The host did not resolve: refused at creation, but worth retrying at delivery (DNS hiccups)."""


@dataclass(frozen=True, slots=True)
class Target:
    """A checked URL: where to connect (one of the checked addresses) and what to call the host."""

    url: SplitResult
    host: str
    port: int
    addresses: tuple[IP, ...]


class WebhookPolicy:
    def __init__(self, policy: WebhookUrlPolicy) -> None:
        self._policy = policy

    def check_url(self, url: str) -> SplitResult:
        """The rules that need no DNS: length, scheme, host, port, domain allowlist."""
        p = self._policy
        if len(url) > p.max_url_length:
            raise InvalidRequest(f"webhook: URL longer than {p.max_url_length} characters")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise InvalidRequest(f"webhook: not a valid URL: {exc}") from None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise InvalidRequest(f"webhook: {url!r} is not an http:// or https:// URL")
        if p.require_https and scheme != "https":
            raise InvalidRequest("webhook: Webhook must use https (webhooks.url.require_https)")
        # "LOCALHOST." is localhost: names compare lower-case, without the root's trailing dot.
        host = (parts.hostname or "").lower().rstrip(".")
        if not host:
            raise InvalidRequest(f"webhook: {url!r} names no host")
        port = port or (443 if scheme == "https" else 80)
        if p.allowed_ports and port not in p.allowed_ports:
            raise InvalidRequest(f"webhook: Webhook port {port} not allowed (webhooks.url.allowed_ports)")
        if p.allowed_domains and not any(_domain_matches(host, d) for d in p.allowed_domains):
            raise InvalidRequest(
                f"webhook: Webhook domain {host!r} not allowed (webhooks.url.allowed_domains)"
            )
        if p.disable_loopback and host in _LOOPBACK_NAMES:
            raise InvalidRequest(
                "webhook: Webhook host blocked: loopback IP range (webhooks.url.disable_loopback)"
            )
        return parts

    async def check(self, url: str) -> Target:
        """Every rule, on the addresses the host resolves to now; 422 naming the one that failed."""
        parts = self.check_url(url)
        host = (parts.hostname or "").lower().rstrip(".")
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        addresses = await _resolve(host, port)
        for address in addresses:
            self._check_address(address)
        return Target(parts, host, port, addresses)

    def _check_address(self, address: IP) -> None:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if address.is_loopback:
            if self._policy.disable_loopback:
                raise InvalidRequest(
                    "webhook: Webhook host blocked: loopback IP range (webhooks.url.disable_loopback)"
                )
            return
        if address.is_link_local or address.is_multicast or address.is_unspecified or address.is_reserved:
            raise InvalidRequest("webhook: Webhook host blocked: blocked IP range")
        if self._policy.disable_private_ips and (address.is_private or address in _SHARED):
            raise InvalidRequest(
                "webhook: Webhook host blocked: private IP range (webhooks.url.disable_private_ips)"
            )


def _domain_matches(host: str, pattern: str) -> bool:
    """`hooks.example.com` matches itself; `*.example.com` matches its subdomains, not the apex."""
    pattern = pattern.strip().lower()
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return host == pattern


async def _resolve(host: str, port: int) -> tuple[IP, ...]:
    try:
        return (ipaddress.ip_address(host),)
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise Unresolved(f"webhook: Webhook host blocked: DNS resolution of {host!r} failed") from None
    found = dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos)
    if not found:
        raise Unresolved(f"webhook: Webhook host blocked: DNS resolution of {host!r} failed")
    return tuple(found)
