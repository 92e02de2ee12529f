"""Running the sandbox: serve_in_thread handles, serve_forever in a real process, plain ASGI use."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import orjson
import pytest

from cohortops.sandbox import ConnectionDropped, SandboxConfig, create_app, serve_in_thread
from cohortops.sandbox.testing import API_KEY, running_sandbox


def test_serve_in_thread_picks_a_free_port_and_stops_cleanly() -> None:
    server = serve_in_thread(SandboxConfig())
    assert server.base_url.startswith("http://127.0.0.1:")
    assert not server.base_url.endswith(":0")
    assert httpx.get(f"{server.base_url}/_sandbox/health").status_code == 200
    server.stop()
    server.stop()  # idempotent
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{server.base_url}/_sandbox/health", timeout=2)


def test_running_sandbox_helper_seeds_and_stops() -> None:
    with running_sandbox(users=["a", "b"], rate_limit=10) as server:
        assert server.state()["user_count"] == 2
        assert server.config.rate_limit == 10
        url = server.base_url
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/_sandbox/health", timeout=2)


def test_braze_segments_are_redefined_with_counted_versions() -> None:
    with running_sandbox() as server:
        server.add_braze_segment("seg", ["a", "b"])
        first = server.sandbox.segments.segments["seg"].filter.value
        server.add_braze_segment("seg", ["b"])
        second = server.sandbox.segments.segments["seg"].filter.value
        server.add_braze_segment("other", ["c"])
        other = server.sandbox.segments.segments["other"].filter.value
    # deterministic: the same calls mark the same users, and a redefinition never reuses a mark
    assert (first, second, other) == ("v1", "v2", "v1")


def test_serve_forever_announces_url_and_exits_on_ctrl_c(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from cohortops.sandbox import SandboxConfig, serve_forever
        serve_forever(
            SandboxConfig(state_file=Path({str(state_file)!r})), "127.0.0.1", 0,
            on_ready=lambda url: print(url, flush=True),
        )
        print("returned", flush=True)
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        response = httpx.post(
            f"{url}/users/track",
            json={"attributes": [{"external_id": "u1", "p": 1}]},
            headers={"Authorization": f"Bearer {API_KEY}"},
        )
        assert response.status_code == 201
        os.kill(process.pid, signal.SIGINT)
        out, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)
    assert process.returncode == 0, err
    assert out.strip() == "returned"
    assert err == ""  # serve_forever prints nothing of its own
    saved = orjson.loads(state_file.read_bytes())
    assert [u["external_id"] for u in saved["store"]["users"]] == ["u1"]


def test_asgi_app_works_in_process_and_drop_surfaces_as_an_exception() -> None:
    async def scenario() -> None:
        app = create_app(SandboxConfig(drop_after_apply_rate=1.0))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            headers = {"Authorization": f"Bearer {API_KEY}"}
            with pytest.raises(ConnectionDropped):
                await client.post(
                    "/users/track",
                    json={"attributes": [{"external_id": "u1", "p": 1}]},
                    headers=headers,
                )
            state = (await client.get("/_sandbox/state")).json()
            assert state["users"][0]["external_id"] == "u1"
            assert (
                await client.post("/_sandbox/faults", json={"drop_after_apply_rate": 0})
            ).status_code == 200
            response = await client.post(
                "/users/track",
                json={"attributes": [{"external_id": "u2", "p": 1}]},
                headers=headers,
            )
            assert response.status_code == 201
            assert response.headers["content-type"] == "application/json"

    asyncio.run(scenario())
