"""A Braze-compatible local server for tests, benchmarks and ``cohortops demo``.

Start it in a thread (port 0 picks a free port)::

    from cohortops.sandbox import SandboxConfig, serve_in_thread
    with serve_in_thread(SandboxConfig(rate_limit=3000)) as server:
        server.seed_users({"external_ids_range": {"prefix": "user_", "count": 10**6, "width": 9}})
        ...  # Braze client at server.base_url, API key "sandbox-key"

Braze endpoints (contract in docs/braze-api.md): ``POST /users/track``, ``/users/export/ids``,
``/users/alias/new``, ``/users/delete`` (Bearer key with the same-named permission: 401 unknown,
403 missing permission) and ``POST /partners/{partner}/cohorts`` and ``.../cohorts/users`` (keys
in the body). All of them share one fixed, clock-aligned rate-limit window (``rate_limit`` per
``rate_window_seconds``); while a limit is set every response carries ``X-RateLimit-Limit``,
``-Remaining`` and ``-Reset`` (epoch seconds of the window end). Faults are seeded per kind:
``fault_rate`` (502/503/504), ``locked_423_rate`` (cohort endpoints), ``burst_429_rate`` (runs of
``burst_429_length``), ``latency_ms`` (+ ``latency_jitter_ms``), ``drop_after_apply_rate`` (applied,
then the TCP connection is aborted with no response; in-process ASGI raises ConnectionDropped).

Admin endpoints (no auth, never limited or faulted):

- ``GET /_sandbox/state[?users=0]``: ``{"mode", "user_count", "users": [{braze_id, external_id?,
  user_aliases, device_ids, email?, custom_attributes}], "cohorts": [{partner, cohort_id, name,
  created_at, member_count, members (braze ids), member_external_ids}]}``. Sink mode has
  ``users: []``, ``attribute_members: {attribute: {value: [keys]}}`` and cohort ``members`` as keys.
- ``POST /_sandbox/users``: seed; shapes in :mod:`cohortops.sandbox.seeds` (records,
  ``external_ids`` or the compact ``external_ids_range``). Returns ``{"seeded": N}``.
- ``POST /_sandbox/reset``: empty model (``users_file`` seeded again), zero counters, config faults.
- ``GET /_sandbox/counters``: requests by endpoint and status (``dropped`` for dropped
  connections), ``objects_per_request`` histogram, ``data_points`` (attribute writes applied to a
  profile, one per attribute per user), ``attribute_changes`` (writes that changed the value),
  users created, unknown-user drops, cohort ids matched/skipped, faults fired, ``user_count``.
- ``GET|POST /_sandbox/faults``: read or change fault and rate-limit settings at run time.
- ``POST /_sandbox/save``: write ``state_file`` atomically (it is also saved on shutdown and
  loaded at start when it exists). ``GET /_sandbox/health``: readiness.

Choices where Braze is vague: ``email`` next to another identifier is the email attribute, not a
second identifier (Braze's behaviour); ``phone`` is not an identifier here; events and purchases
are validated and counted but change nothing; over-limit strings or arrays (a set longer than the
attribute's maximum) are accepted and not applied; in one add/remove object removals apply first;
``invalid_user_ids`` lists alias names for unknown aliases.
"""

from cohortops.sandbox.app import create_app
from cohortops.sandbox.config import (
    ALL_PERMISSIONS,
    DEFAULT_API_KEY,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_PARTNER_KEY,
    SandboxConfig,
    SandboxError,
)
from cohortops.sandbox.pipeline import ConnectionDropped
from cohortops.sandbox.server import SandboxServer, serve_forever, serve_in_thread

__all__ = [
    "ALL_PERMISSIONS",
    "DEFAULT_API_KEY",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_PARTNER_KEY",
    "ConnectionDropped",
    "SandboxConfig",
    "SandboxError",
    "SandboxServer",
    "create_app",
    "serve_forever",
    "serve_in_thread",
]
