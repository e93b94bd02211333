"""Hostile or broken input to the config loader: deep nesting, huge files, FIFOs, bad TLS
files. Each is a clear FILE:LINE error, never a traceback, a hang or a public outage."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from prober.config import check_files, load_config, parse_config
from prober.config import yamlnodes as yn
from prober.config.loader import MAX_CONFIG_BYTES
from prober.errors import ConfigError
from tests.probes.servers import make_pki

BASE = """\
components:
  - id: api
    name: API
checks:
  - id: api-health
    component: api
    url: https://127.0.0.1:9/health
"""


def test_the_c_loader_is_used_and_keeps_line_numbers() -> None:
    assert yaml.__with_libyaml__
    assert issubclass(yn.NodeLoader, yaml.CSafeLoader)
    with pytest.raises(ConfigError) as info:
        parse_config(BASE + "    interval: soon\n", "c.yaml", env={})
    assert str(info.value.issues[0]).startswith("c.yaml:8:")


@pytest.mark.parametrize("depth", [65, 490, 5000])
def test_deep_nesting_is_a_file_line_error_not_a_crash(depth: int) -> None:
    text = BASE + "    headers: " + "[" * depth + "]" * depth + "\n"
    with pytest.raises(ConfigError) as info:
        parse_config(text, "deep.yaml", env={})
    (issue,) = info.value.issues
    assert str(issue).startswith("deep.yaml:8:")
    assert "nesting deeper than 64 levels" in issue.message


def test_nesting_within_the_limit_is_read_normally() -> None:
    text = BASE + "    headers: " + "[" * 10 + "]" * 10 + "\n"
    with pytest.raises(ConfigError) as info:
        parse_config(text, "ok.yaml", env={})
    assert "nesting" not in str(info.value)  # a type error about headers, not depth


def test_a_file_over_the_size_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(BASE + "# " + "x" * MAX_CONFIG_BYTES + "\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "over the limit" in str(info.value) and str(path) in str(info.value)


def test_a_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "checks.yaml"
    os.mkfifo(fifo)
    result: list[str] = []

    def run() -> None:
        result.append(check_files([str(fifo)])[1])

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(10)
    assert result, "check-config hung on a FIFO"
    assert "it is a FIFO" in result[0]


def test_tls_files_are_read_and_validated_at_check_config(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    text = BASE + "".join(
        f"""\
  - id: c{i}
    component: api
    url: https://127.0.0.1:9/{i}
    tls:
{tls}
"""
        for i, tls in enumerate(
            [
                f"      ca_file: {tmp_path / 'missing.pem'}",
                f"      ca_file: {garbage}",
                f"      cert_file: {pki.client_cert}\n      key_file: {pki.server_key}",
                f"      ca_file: {pki.ca_file}\n      cert_file: {pki.client_cert}\n"
                f"      key_file: {pki.client_key}",
            ]
        )
    )
    path = tmp_path / "checks.yaml"
    path.write_text(text + "incidents:\n  quiet_period: soon\n")  # and an unrelated error
    code, out = check_files([str(path)])
    assert code == 1
    lines = out.splitlines()
    assert "checks[1].tls: ca_file" in lines[0] and "does not exist" in lines[0]
    assert "checks[2].tls:" in lines[1] and "no valid PEM certificate" in lines[1]
    assert "checks[3].tls:" in lines[2] and "matching private key" in lines[2]
    assert "incidents.quiet_period" in lines[3]
    assert lines[-1].endswith("FAILED: 4 errors"), "every error reported in one pass"
    assert all(line.startswith(f"{path}:") for line in lines[:4])


def test_a_tls_file_error_is_not_hidden_by_another_error_of_the_same_check(
    tmp_path: Path,
) -> None:
    """Every error in one pass: a check whose timeout is also wrong still gets its TLS
    files checked (they used to be read only once the whole check was valid)."""
    path = tmp_path / "checks.yaml"
    path.write_text(
        BASE
        + f"""\
  - id: both
    component: api
    url: https://127.0.0.1:9/
    interval: 5s
    timeout: 10s
    tls:
      ca_file: {tmp_path / "missing.pem"}
"""
    )
    code, out = check_files([str(path)])
    assert code == 1
    assert "checks[1].tls: ca_file" in out and "does not exist" in out
    assert "checks[1].timeout:" in out
    assert out.splitlines()[-1].endswith("FAILED: 2 errors")


def test_check_config_on_deep_yaml_exits_1_with_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text(BASE + "    headers: " + "[" * 490 + "]" * 490 + "\n")
    out = subprocess.run(
        [sys.executable, "-m", "prober", "check-config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    assert out.returncode == 1
    assert "Traceback" not in out.stdout + out.stderr
    assert f"{path}:8:" in out.stdout


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            "    expect:\n      status: []\n",
            "x.yaml:9:15: checks[0].expect.status: an empty list accepts no status at all",
        ),
        (
            'incidents:\n  title_template: "{reason:>100000}"\n',
            "x.yaml:9:19: incidents.title_template: placeholder {reason:>100000} has a format spec",
        ),
        (
            'incidents:\n  title_template: "{components!r} down"\n',
            "x.yaml:9:19: incidents.title_template: placeholder {components!r} has a format spec",
        ),
    ],
)
def test_smaller_bad_inputs_are_refused_clearly(extra: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(BASE.replace("https", "http") + extra, "x.yaml", env={})
    assert str(info.value).startswith(expected)


def test_an_id_with_a_trailing_newline_is_refused() -> None:
    text = BASE.replace("  - id: api-health", '  - id: "api-health\\n"')
    with pytest.raises(ConfigError) as info:
        parse_config(text, "x.yaml", env={})
    assert "checks[0].id: invalid id 'api-health\\n'" in str(info.value)


@pytest.mark.parametrize(
    ("groups", "fragment"),
    [
        (
            ("Product API", "product-api"),
            "has the same id 'group-product-api' as group 'Product API'",
        ),
        (("Web",), "which is also a component id"),
    ],
)
def test_group_ids_that_collide_are_refused(groups: tuple[str, ...], fragment: str) -> None:
    comps = "".join(f"  - id: c{i}\n    name: C{i}\n    group: {g}\n" for i, g in enumerate(groups))
    if len(groups) == 1:
        comps += "  - id: group-web\n    name: W\n"
    text = (
        f"components:\n{comps}checks:\n  - id: k\n    component: c0\n    url: http://127.0.0.1:9/\n"
    )
    with pytest.raises(ConfigError) as info:
        parse_config(text, "g.yaml", env={})
    assert fragment in str(info.value)
