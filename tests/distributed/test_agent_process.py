"""`prober agent` as a real process against a real local target and a SQLite round log:
it probes, serves /metrics and /-/ready, and on SIGTERM writes every round and exits 0;
bad invocations are one-line errors with exit code 2."""

from __future__ import annotations

import asyncio
import http.server
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from prober.distributed.codec import decode

ROOT = Path(__file__).resolve().parents[2]


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        code = 503 if self.path.startswith("/down") else 200
        self.send_response(code)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def target() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    for name in ("PROBER_LOCATION", "PROBER_DB", "PROBER_SHARD", "PROBER_CONFIG"):
        env.pop(name, None)
    return env


def _agent(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prober", "agent", *args],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--location", "eu", "--db", "sqlite:///x.db", "--shard", "3/2"], "shard index"),
        (["--location", "eu", "--db", "sqlite:///x.db", "--shard", "x"], "expected I/N"),
        (["--db", "sqlite:///x.db"], "--location is required"),
        (["--location", "eu"], "--db is required"),
        (["--location", "Eu West", "--db", "sqlite:///x.db"], "invalid location"),
        (["--location", "eu", "--db", "mysql://h/db"], "expected postgresql://"),
    ],
)
def test_bad_invocation_is_one_line_and_exit_code_2(args: list[str], message: str) -> None:
    done = _agent(*args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in done.stderr


def _read_sqlite(db: str) -> list[tuple[str, str, str, float, bytes]]:
    with sqlite3.connect(db.removeprefix("sqlite://")) as conn:
        return conn.execute("SELECT location, agent, check_id, at, payload FROM rounds").fetchall()


def _read_postgres(db: str) -> list[tuple[str, str, str, float, bytes]]:
    from prober.store.postgres_rounds import PostgresRoundLog

    async def read() -> list[tuple[str, str, str, float, bytes]]:
        log = PostgresRoundLog(db)
        await log.open()
        try:
            rows, _ = await log.rounds_after(0, 100_000)
        finally:
            await log.close()
        return [(r.location, r.agent, r.check_id, r.at, r.payload) for r in rows]

    return asyncio.run(read())


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'rounds.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


def test_agent_probes_serves_metrics_and_flushes_on_sigterm(
    target: int, tmp_path: Path, db: str
) -> None:
    config = tmp_path / "checks.yaml"
    config.write_text(
        "components: [{id: api, name: API}]\nchecks:\n"
        f'  - {{id: up, component: api, url: "http://127.0.0.1:{target}/up", interval: 1s}}\n'
        f'  - {{id: down, component: api, url: "http://127.0.0.1:{target}/down", interval: 1s}}\n'
    )
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "prober", "agent", "--location", "eu", "--db",
            db, "--config", str(config), "--admin-listen", "127.0.0.1:0",
            "--log-format", "json", "--name", "agent-eu-0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(),
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        admin = None
        for _ in range(50):  # bounded: the start line comes within a few lines
            line = proc.stdout.readline()
            if not line:
                break
            if '"agent_started"' in line:
                admin = json.loads(line)["admin"]
                break
        assert admin is not None, "agent did not start"
        written = 0.0
        deadline = time.monotonic() + 20
        while written < 4 and time.monotonic() < deadline:
            time.sleep(0.2)
            text = urllib.request.urlopen(admin + "metrics", timeout=5).read().decode()
            for line in text.splitlines():
                if line.startswith("prober_agent_rounds_written_total{"):
                    written = float(line.split()[-1])
        assert written >= 4
        assert urllib.request.urlopen(admin + "-/ready", timeout=5).status == 200
        # SIGHUP reloads checks.yaml: the `down` check is gone
        config.write_text(
            "components: [{id: api, name: API}]\nchecks:\n"
            f'  - {{id: up, component: api, url: "http://127.0.0.1:{target}/up", interval: 1s}}\n'
        )
        proc.send_signal(signal.SIGHUP)
        checks = ""
        deadline = time.monotonic() + 20
        while checks != "1.0" and time.monotonic() < deadline:
            time.sleep(0.1)
            text = urllib.request.urlopen(admin + "metrics", timeout=5).read().decode()
            found = [x for x in text.splitlines() if x.startswith("prober_agent_checks{")]
            checks = found[0].split()[-1] if found else ""
        assert checks == "1.0"
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, rest
        stopped = [json.loads(x) for x in rest.splitlines() if '"agent_stopped"' in x]
        assert stopped and stopped[0]["dropped"] == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    rows = _read_sqlite(db) if db.startswith("sqlite") else _read_postgres(db)
    assert len(rows) == stopped[0]["written"] >= 4  # every round written, none twice
    reasons = {}
    for location, agent, check_id, at, payload in rows:
        assert (location, agent) == ("eu", "agent-eu-0")
        (result,) = decode(payload, check_id)
        assert result.at == at
        reasons.setdefault(check_id, set()).add(result.reason.value)
    assert reasons == {"up": {"ok"}, "down": {"http_5xx"}}


def test_database_away_at_start_agent_probes_buffers_and_says_so_at_stop(
    target: int, tmp_path: Path
) -> None:
    """No database: the agent still starts and probes, /-/ready is 503, and SIGTERM (with
    rounds it could not write within --flush-timeout) exits 1 saying how many."""
    import socket

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = tmp_path / "checks.yaml"
    config.write_text(
        "components: [{id: api, name: API}]\nchecks:\n"
        f'  - {{id: up, component: api, url: "http://127.0.0.1:{target}/up", interval: 1s}}\n'
    )
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "prober", "agent", "--location", "eu", "--db",
            f"postgresql://prober:secretpw@127.0.0.1:{port}/prober", "--config", str(config),
            "--admin-listen", "127.0.0.1:0", "--log-format", "json", "--flush-timeout", "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(),
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        admin = None
        seen: list[str] = []
        for _ in range(50):
            line = proc.stdout.readline()
            seen.append(line)
            if '"agent_started"' in line:
                admin = json.loads(line)["admin"]
                break
        assert admin is not None
        deadline = time.monotonic() + 20
        status = 200
        while status == 200 and time.monotonic() < deadline:
            time.sleep(0.2)
            try:
                status = urllib.request.urlopen(admin + "-/ready", timeout=5).status
            except urllib.error.HTTPError as exc:
                status = exc.code
        assert status == 503
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1
    unwritten = [json.loads(x) for x in rest.splitlines() if '"agent_rounds_unwritten"' in x]
    assert unwritten and unwritten[0]["rounds"] >= 1
    assert "secretpw" not in "".join(seen) + rest  # the password never reaches the logs
