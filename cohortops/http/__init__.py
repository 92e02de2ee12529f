"""Outbound HTTP for every cohortops client (Braze, notifications, Lytics).

The only package that imports httpx; callers import its modules directly, so importing
``cohortops.http.retry`` (the state store and SMTP do) does not load httpx:

- ``retry``: the one retry policy (attempts, deadline, full-jitter backoff, Retry-After and
  X-RateLimit-Reset, which statuses and exceptions retry or fail fast) and the one loop;
- ``transport``: the lean keep-alive http.client transport;
- ``pool``: one transport per in-flight request, for callers that send from many threads;
- ``client``: proxies from the environment, timeouts, the transport seam, one POST, and the
  httpx types callers need;
- ``masking``: keeps secrets out of messages and logs.
"""
