"""A :class:`BrazeClient` for a configured ``kind: braze`` destination; secrets revealed here,
at use."""

from __future__ import annotations

from typing import Any

from cohortops.braze.client import BrazeClient
from cohortops.config.model import Destination


def destination_client(destination: Destination, **kwargs: Any) -> BrazeClient:
    """The destination's endpoint, key and pacing; ``kwargs`` go to :class:`BrazeClient`."""
    return BrazeClient(
        destination.rest_endpoint.reveal(),
        destination.api_key.reveal(),
        destination_id=destination.id,
        requests_per_second=destination.requests_per_second,
        max_objects_per_request=destination.max_objects_per_request,
        api_key_hint=destination.api_key.env_hint,
        **kwargs,
    )
