"""Where a plan's changes go: the endpoints and credential references it was reviewed with.

A saved plan is applied later, from the configuration as it is then. If a destination's endpoint
or the variable holding its key changed in between, the reviewed changes would reach another
workspace; the wiring digest lets apply refuse that. Only templates are hashed (`${env:NAME}`
references, endpoint URLs), never resolved secrets.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from cohortops.config.model import CohortImportDelivery, Config, Secret
from cohortops.plan.model import CohortPlan


def _template(secret: Secret | None) -> str | None:
    return secret.template if secret is not None else None


def wiring_digest(config: Config, cohorts: Iterable[CohortPlan]) -> str:
    changing = [c for c in cohorts if c.is_change]
    parts: list[list[str | None]] = []
    for dest_id in sorted({c.destination for c in changing}):
        dest = config.destinations.get(dest_id)
        row: list[str | None] = ["destination", dest_id]
        if dest is None:
            row.append(None)
        else:
            row += [_template(dest.rest_endpoint), _template(dest.api_key)]
        parts.append(row)
    for conn_id in sorted({c.connection for c in changing}):
        conn = config.connections.get(conn_id)
        row = ["connection", conn_id]
        if conn is None:
            row.append(None)
        else:
            row += [conn.destination, conn.partner, conn.delivery.method]
            if isinstance(conn.delivery, CohortImportDelivery):
                row += [
                    _template(conn.delivery.partner_api_key),
                    _template(conn.delivery.client_secret),
                    _template(conn.delivery.rest_endpoint),
                ]
        parts.append(row)
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()
