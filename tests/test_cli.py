"""The `prober` command: every user mistake is one line on stderr and exit code 2, never a
traceback; --version; machine-readable output for CI."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from prober import __version__
from prober.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = str(ROOT / "checks.yaml")
INVALID = str(ROOT / "tests" / "config" / "invalid" / "thresholds_order.yaml")


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


MISTAKES = [
    (
        ["demo", "--scenario", "nope"],
        "prober demo: error: argument --scenario: invalid choice: 'nope' (choose from 'seed', ",
    ),
    (
        ["run", "--log-level", "verbose"],
        "prober run: error: argument --log-level: invalid choice: 'verbose' (choose from 'debug'",
    ),
    (["demo", "--log-level", "loud"], "prober demo: error: argument --log-level: invalid"),
    (
        ["run", "--listen", "nonsense"],
        "prober run: error: argument --listen: expected HOST:PORT, got 'nonsense'",
    ),
    (
        ["run", "--listen", "127.0.0.1:99999"],
        "prober run: error: argument --listen: port 99999 out of range 0-65535",
    ),
    (
        ["demo", "--target-listen", "8081"],
        "prober demo: error: argument --target-listen: expected HOST:PORT, got '8081'",
    ),
    (["run", "--grace", "soon"], "prober run: error: argument --grace: expected seconds"),
    (
        ["run", "--config", "/nonexistent/checks.yaml"],
        "prober: error: cannot read config file /nonexistent/checks.yaml: No such file or "
        "directory",
    ),
    (
        ["demo", "--config", "/nonexistent/checks.yaml"],
        "prober: error: cannot read config file /nonexistent/checks.yaml: No such file",
    ),
    (
        ["check-config", "/nonexistent/checks.yaml"],
        "prober: error: cannot read config file /nonexistent/checks.yaml: No such file or "
        "directory",
    ),
    (
        ["check-config", str(ROOT / "tests")],
        f"prober: error: cannot read config file {ROOT / 'tests'}: Is a directory",
    ),
    (
        ["once", "/nonexistent/checks.yaml"],
        "prober: error: cannot read config file /nonexistent/checks.yaml: No such file",
    ),
    (
        ["once", EXAMPLE, "--check", "no-such-check"],
        f"prober: error: {EXAMPLE}: unknown check id(s): no-such-check",
    ),
    (
        ["run", "--config", EXAMPLE, "--api-token-file", "/nonexistent/token"],
        "prober: error: cannot read API token file /nonexistent/token: No such file",
    ),
    (
        ["run", "--config", EXAMPLE, "--db", "/nonexistent/folder/prober.db"],
        "prober: error: --db /nonexistent/folder/prober.db: folder /nonexistent/folder does "
        "not exist",
    ),
    (
        ["check-config", EXAMPLE, "--output", "yaml"],
        "prober check-config: error: argument --output: invalid choice: 'yaml'",
    ),
    ([], "prober: error: the following arguments are required: command"),
    (["start"], "prober: error: argument command: invalid choice: 'start'"),
    (["run", "--verbose"], "prober: error: unrecognized arguments: --verbose"),
]


@pytest.mark.parametrize(
    ("argv", "message"), MISTAKES, ids=[" ".join(a) or "none" for a, _ in MISTAKES]
)
def test_user_mistake_is_one_line_and_exit_code_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    assert out == ""
    assert one_line_error(err).startswith(message), err


def test_empty_token_file_is_a_mistake(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("\n")
    code, _, err = run_cli(capsys, "run", "--config", EXAMPLE, "--api-token-file", str(token))
    assert code == 2
    assert one_line_error(err) == f"prober: error: API token file {token} is empty"


def test_log_level_from_the_environment_is_checked(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROBER_LOG_LEVEL", "verbose")
    code, _, err = run_cli(capsys, "check-config", EXAMPLE)
    assert code == 2
    assert one_line_error(err) == (
        "prober: error: PROBER_LOG_LEVEL: invalid level 'verbose' "
        "(choose from debug, info, warning, error, critical)"
    )


def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prober", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_demo_unknown_scenario_in_a_real_process_has_no_traceback() -> None:
    proc = _cli("demo", "--scenario", "nope", "--listen", "127.0.0.1:0")
    assert proc.returncode == 2
    assert one_line_error(proc.stderr).startswith(
        "prober demo: error: argument --scenario: invalid choice: 'nope'"
    )


@pytest.mark.parametrize("option", ["--listen", "--admin-listen"])
def test_a_listen_address_in_use_is_one_line_naming_its_option_and_exit_code_2(
    option: str,
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        addresses = {"--listen": "127.0.0.1:0", "--admin-listen": "127.0.0.1:0"}
        addresses[option] = f"127.0.0.1:{port}"
        proc = _cli(
            "run", "--config", EXAMPLE, "--db", ":memory:",
            *(word for pair in addresses.items() for word in pair),
        )  # fmt: skip
    assert proc.returncode == 2
    line = one_line_error(proc.stderr)
    assert line.startswith(f"prober: error: {option} 127.0.0.1:{port}: cannot listen: "), line
    assert "address already in use" in line.lower()


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"prober {__version__}\n"


def test_check_config_json_valid(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "check-config", EXAMPLE, "--output", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["ok"] is True
    [entry] = doc["files"]
    assert entry["file"] == EXAMPLE and entry["ok"] is True and entry["errors"] == []
    assert entry["checks"] > 0 and entry["components"] > 0


def test_check_config_json_invalid(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "check-config", EXAMPLE, INVALID, "--output", "json")
    assert code == 1
    doc = json.loads(out)
    assert doc["ok"] is False
    good, bad = doc["files"]
    assert good["ok"] is True and bad["ok"] is False
    [error] = bad["errors"]
    assert set(error) == {"file", "line", "column", "path", "message"}
    assert error["file"] == INVALID and error["line"] > 0 and error["message"]


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        code = 200 if self.path == "/ok" else 503
        self.send_response(code)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def target() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_once_json(capsys: pytest.CaptureFixture[str], tmp_path: Path, target: str) -> None:
    config = tmp_path / "checks.yaml"
    config.write_text(f"""components:
  - id: api
    name: API
checks:
  - id: good
    component: api
    url: {target}/ok
  - id: broken
    component: api
    url: {target}/fail
""")
    code, out, _ = run_cli(capsys, "once", str(config), "--output", "json")
    assert code == 1
    doc = json.loads(out)
    assert doc["ok"] is False and doc["checks"] == 2 and doc["failed"] == 1
    good, broken = doc["results"]
    assert good["check"] == "good" and good["ok"] is True and good["status_code"] == 200
    assert good["reason"] == "ok" and good["duration_seconds"] >= 0
    assert broken["ok"] is False and broken["reason"] == "http_5xx"
    assert broken["status_code"] == 503 and broken["detail"]


def test_once_json_on_an_invalid_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "once", INVALID, "--output", "json")
    assert code == 1
    doc = json.loads(out)
    assert doc["ok"] is False and doc["results"] == [] and doc["errors"]
