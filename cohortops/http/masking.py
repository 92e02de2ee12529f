"""Keeping secrets out of error messages and logs of outbound calls."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
# A 1-3 character "secret" would garble every message it happens to occur in.
_MIN_SECRET = 4


def mask(text: str, secrets: Iterable[str | None], mark: str = MASK) -> str:
    """``text`` with every secret value (of four characters or more) replaced by ``mark``."""
    for secret in secrets:
        if secret and len(secret) >= _MIN_SECRET:
            text = text.replace(secret, mark)
    return text


def mask_url(url: str) -> str:
    """``url`` without its password (a proxy URL may carry one); safe to print."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{parts.username}:{MASK}@{host}"))
