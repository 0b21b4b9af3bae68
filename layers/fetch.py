"""Fetching a document the user names by URL (a CAP alert) without letting the server be pointed at itself or its
network: only hosts configured as feeds (SPMIS_CAP_FEED_HOSTS) or public internet addresses are contacted.

The host is resolved once and the connection goes to the address that was checked (so a second DNS answer cannot
swap in an internal one); each redirect is checked again the same way; and every failure to connect, whatever its
cause (refused, timed out, reset, TLS), gets the same words, so the error never tells whether a port is open.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urljoin, urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)


def _refuse(message: str) -> ValidationError:
    return ValidationError({"url": message})


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _resolve(host: str, port: int, *, configured: bool) -> list[str]:
    """The addresses to connect to, in order: any for a configured feed host; otherwise all must be public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise _refuse(f"The host {host} could not be found.") from None
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise _refuse(f"The host {host} could not be found.")
    if not configured and not all(_public(address) for address in addresses):
        raise _refuse(
            f"The address {host} is not allowed: alerts are fetched only from the configured feed hosts or from "
            "public internet addresses."
        )
    return list(dict.fromkeys(addresses))


def fetch_url(url: str, *, max_bytes: int, timeout: float = 30.0, allowed_hosts: list[str] | None = None) -> bytes:
    """GET `url` (http or https) and return the body, at most `max_bytes`. Raises ValidationError (field `url`)."""
    import certifi
    import urllib3

    configured_hosts = {
        h.lower() for h in (settings.SPMIS["CAP_FEED_HOSTS"] if allowed_hosts is None else allowed_hosts)
    }
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise _refuse("Only http:// and https:// addresses are accepted.")
        if parts.username or parts.password:
            raise _refuse("Addresses with a user name or password are not accepted.")
        host = (parts.hostname or "").lower()
        if not host:
            raise _refuse("The address has no host.")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise _refuse("The address has an invalid port.") from None
        target = f"{parts.path or '/'}{'?' + parts.query if parts.query else ''}"
        options = {"port": port, "timeout": urllib3.Timeout(total=timeout), "retries": False}
        response = pool = None
        for address in _resolve(host, port, configured=host in configured_hosts):
            if parts.scheme == "https":
                pool = urllib3.HTTPSConnectionPool(
                    address, server_hostname=host, assert_hostname=host, ca_certs=certifi.where(), **options
                )
            else:
                pool = urllib3.HTTPConnectionPool(address, **options)
            try:
                response = pool.urlopen(
                    "GET",
                    target,
                    headers={"Host": parts.netloc, "Accept": "application/xml, text/xml, */*"},
                    redirect=False,
                    preload_content=False,
                )
                break
            except urllib3.exceptions.NewConnectionError:
                pool.close()  # the next address of the host, if any (e.g. IPv4 after IPv6)
            except urllib3.exceptions.HTTPError:
                pool.close()
                break
        if response is None:
            raise _refuse(f"Could not fetch the alert from {host}.")
        try:
            if response.status in REDIRECTS and response.headers.get("Location"):
                url = urljoin(url, response.headers["Location"])
                continue
            if response.status >= 400:
                raise _refuse(f"The feed at {host} answered HTTP {response.status}.")
            data = b""
            try:
                for piece in response.stream(64 * 1024):
                    data += piece
                    if len(data) > max_bytes:
                        raise _refuse(f"The document is larger than {max_bytes // (1024 * 1024)} MB.")
            except urllib3.exceptions.HTTPError:
                raise _refuse(f"Could not fetch the alert from {host}.") from None
            return data
        finally:
            response.release_conn()
            pool.close()
    raise _refuse(f"More than {MAX_REDIRECTS} redirects.")
