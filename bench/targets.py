"""The processes a benchmark run measures against: nginx (or a light asyncio target) and
prometheus-blackbox-exporter, each started from a temporary directory and stopped at exit.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench.procstat import free_port, pinned

BLACKBOX = "/usr/bin/prometheus-blackbox-exporter"

_NGINX_CONF = """\
daemon off;
master_process on;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 16384; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    keepalive_requests 100000;
    server {{
        listen 127.0.0.1:{port} backlog=4096 reuseport;
        location /ok {{ return 200 "ok"; }}
        location /fail {{ return 500; }}
    }}
}}
"""

_BLACKBOX_CONF = """\
modules:
  http_2xx:
    prober: http
    timeout: 5s
    http:
      preferred_ip_protocol: ip4
"""


def _wait_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port} within {timeout:g}s")


def _stop(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


class Target:
    """The HTTP target: nginx when installed (unless `light`), else bench.light_target."""

    def __init__(self, tmp: Path, core: int | None, light: bool = False) -> None:
        self.tmp = tmp
        self.core = core
        self.kind = "light" if light or shutil.which("nginx") is None else "nginx"
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.version = ""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        if self.kind == "nginx":
            self._start_nginx()
        else:
            self._start_light()

    def _start_nginx(self) -> None:
        nginx = shutil.which("nginx") or "nginx"
        tmp = self.tmp / "nginx"
        tmp.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        conf = tmp / "nginx.conf"
        conf.write_text(_NGINX_CONF.format(tmp=tmp, port=self.port))
        out = subprocess.run([nginx, "-v"], capture_output=True, text=True, check=False)
        self.version = (out.stderr or out.stdout).strip().split("/")[-1]
        self.proc = subprocess.Popen(
            pinned(self.core, [nginx, "-c", str(conf), "-p", str(tmp)]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_port(self.port, self.proc, "nginx")

    def _start_light(self) -> None:
        self.proc = subprocess.Popen(
            pinned(self.core, [sys.executable, "-m", "bench.light_target"]),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=_repo(),
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.strip():
            raise RuntimeError("light target did not report its port")
        self.port = int(line)
        self.version = f"python {sys.version.split()[0]}"
        _wait_port(self.port, self.proc, "light target")

    def stop(self) -> None:
        # nginx: SIGQUIT is a graceful stop of the master and its worker.
        _stop(self.proc, signal.SIGQUIT if self.kind == "nginx" else signal.SIGTERM)


class Blackbox:
    """prometheus-blackbox-exporter with one http_2xx module, pinned to the measured core."""

    def __init__(self, tmp: Path, core: int | None) -> None:
        self.tmp = tmp
        self.core = core
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.version = ""

    @staticmethod
    def available() -> bool:
        return os.access(BLACKBOX, os.X_OK)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def probe_url(self, target: str) -> str:
        return f"http://127.0.0.1:{self.port}/probe?module=http_2xx&target={target}"

    def start(self) -> None:
        conf = self.tmp / "blackbox.yml"
        conf.write_text(_BLACKBOX_CONF)
        out = subprocess.run([BLACKBOX, "--version"], capture_output=True, text=True, check=False)
        self.version = ((out.stdout or out.stderr).split() or ["?", "?", "?"])[2]
        self.port = free_port()
        self.proc = subprocess.Popen(
            pinned(
                self.core,
                [
                    BLACKBOX,
                    f"--config.file={conf}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--log.level=warn",
                ],
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_port(self.port, self.proc, "blackbox_exporter")

    def check(self, target: str) -> bool:
        """One probe through /probe: did the exporter report probe_success 1?"""
        with urllib.request.urlopen(self.probe_url(target), timeout=5) as resp:
            return b"\nprobe_success 1" in resp.read()

    def stop(self) -> None:
        _stop(self.proc)


def _repo() -> str:
    return str(Path(__file__).resolve().parents[1])
