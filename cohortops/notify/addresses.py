"""Where a webhook may not post: link-local and cloud metadata addresses.

Internal http(s) receivers stay possible (teams run Slack proxies inside their network), but
169.254.0.0/16, fe80::/10 and the metadata endpoints (169.254.169.254, fd00:ec2::254, …) hand out
cloud credentials to whoever can make the runner send a request there. They are refused unless
``COHORTOPS_WEBHOOK_ALLOW_LINK_LOCAL=1``. Redirects are never followed, so a receiver cannot
bounce the post there either.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Mapping
from urllib.parse import urlsplit

ALLOW_ENV = "COHORTOPS_WEBHOOK_ALLOW_LINK_LOCAL"
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)
METADATA_NAMES = frozenset({"metadata.google.internal", "metadata", "instance-data"})


def forbidden_address(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_link_local or ip in METADATA_ADDRESSES


def refused_target(
    url: str, *, resolve: bool, environ: Mapping[str, str] | None = None
) -> str | None:
    """Why ``url`` may not receive a webhook (never showing the URL), or None.

    ``resolve``: also look the host name up (the real send does; tests with a fake transport
    must not touch DNS). A name that does not resolve is left to the send to report.
    """
    env = os.environ if environ is None else environ
    if env.get(ALLOW_ENV, "").strip().lower() in ("1", "true", "yes"):
        return None
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host in METADATA_NAMES:
        return f"the webhook host is a cloud metadata name; set {ALLOW_ENV}=1 to allow it"
    addresses = [host]
    if resolve and not _literal(host):
        try:
            addresses = [str(info[4][0]) for info in socket.getaddrinfo(host, None)]
        except (OSError, UnicodeError):
            return None
    bad = next((a for a in addresses if forbidden_address(a)), None)
    if bad is None:
        return None
    return (
        f"the webhook host resolves to {bad}, a link-local or cloud metadata address; "
        f"set {ALLOW_ENV}=1 to allow it"
    )


def _literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
