"""sandbox and demo: the local Braze-compatible server, and the whole loop against it."""

from __future__ import annotations

from pathlib import Path

import click

from cohortops.cli.root import cli


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", type=int, default=4400, show_default=True, help="Port to listen on.")
@click.option(
    "--api-key", default="sandbox-key", show_default=True, help="REST API key (all permissions)."
)
@click.option(
    "--partner-key",
    default="sandbox-partner-key",
    show_default=True,
    help="Cohort import partner_api_key it accepts.",
)
@click.option(
    "--data-import-key",
    default="sandbox-data-import-key",
    show_default=True,
    help="Cohort import client_secret (the workspace's data import key) it accepts.",
)
@click.option(
    "--users",
    "users_file",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="Users to seed: a CSV with a header (external_id or first column), JSON or JSONL.",
)
@click.option("--rate-limit", type=int, default=None, help="Requests per window (default: none).")
@click.option("--window", type=float, default=3.0, show_default=True, help="Window seconds.")
@click.option("--latency-ms", type=float, default=0.0, show_default=True, help="Added latency.")
@click.option("--fault-rate", type=float, default=0.0, show_default=True, help="5xx rate, 0-1.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for fault draws.")
@click.option(
    "--state",
    "state_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Load and save the sandbox's data in this file.",
)
@click.option("--sink", is_flag=True, help="Record membership only (for load tests).")
@click.option(
    "--lytics-token",
    default="sandbox-lytics-token",
    show_default=True,
    help="Token the Lytics API accepts (Authorization header or ?key=).",
)
@click.option(
    "--lytics-audiences",
    "lytics_audiences",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="JSON list of Lytics audiences to seed: {id, slug?, id_field?, ids | profiles | range}.",
)
def sandbox(
    host: str,
    port: int,
    api_key: str,
    partner_key: str,
    data_import_key: str,
    users_file: Path | None,
    rate_limit: int | None,
    window: float,
    latency_ms: float,
    fault_rate: float,
    seed: int,
    state_file: Path | None,
    sink: bool,
    lytics_token: str,
    lytics_audiences: Path | None,
) -> None:
    """Serve a Braze-compatible API locally until Ctrl-C.

    \b
    A Lytics-compatible API is served under /lytics on the same port:
      GET  /lytics/api/segment/{id or slug}/scan?limit=N&start=TOKEN
      POST /lytics/collect/json/{stream}   (JSON records, 10 MB at most)
      POST /lytics/collect/bulk/{stream}   (CSV with a header; column field.key sets a map key)
    Audiences come from --lytics-audiences or POST /_sandbox/lytics/audiences; collected
    membership is at GET /_sandbox/lytics/state. Rate limit and faults apply to both APIs.
    """
    from cohortops.sandbox import ALL_PERMISSIONS, SandboxConfig, serve_forever
    from cohortops.sandbox.seeds import read_users_file, seed_size

    seeded = "no users seeded"
    if users_file is not None:
        count = seed_size(read_users_file(users_file))
        seeded = f"seeded {'some' if count is None else f'{count:,}'} user(s) from {users_file}"
    config = SandboxConfig(
        api_keys={api_key: ALL_PERMISSIONS},
        partner_api_keys=frozenset({partner_key}),
        client_secrets=frozenset({data_import_key}),
        rate_limit=rate_limit,
        rate_window_seconds=window,
        latency_ms=latency_ms,
        fault_rate=fault_rate,
        seed=seed,
        users_file=users_file,
        state_file=state_file,
        sink=sink,
        lytics_tokens=frozenset({lytics_token}),
        lytics_audiences_file=lytics_audiences,
    )

    def ready(url: str) -> None:
        click.echo(f"Braze sandbox listening on {url}; {seeded}. Ctrl-C stops it.")
        click.echo(f"  REST API key (Authorization: Bearer): {api_key}")
        click.echo(f"  partner_api_key (cohort import):       {partner_key}")
        click.echo(f"  client_secret / data import key:       {data_import_key}")
        click.echo(f"  Lytics API: {url}/lytics (token: {lytics_token})")

    serve_forever(config, host, port, on_ready=ready)


@cli.command()
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Config directory or file (default: configs/).",
)
@click.option(
    "--keep",
    is_flag=True,
    help="Keep the state (the configuration's SQLite state file) and the first plan beside it, "
    "for `cohortops ui`.",
)
def demo(config_path: Path | None, keep: bool) -> None:
    """Run validate, plan, apply and plan again against a local Braze sandbox."""
    from cohortops.operations.demo import kept_state, run_demo

    path = config_path or Path("configs")
    run_demo(path, click.echo, keep=kept_state(path) if keep and path.exists() else None)
