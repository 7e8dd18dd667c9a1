"""``simulate`` as a user runs it: a separate process serving until it is stopped."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import httpx
from click.testing import CliRunner

from simulator.cli import simulate


def test_cli_serves_until_stopped(token_form):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [
        sys.executable,
        "-m",
        "simulator.cli",
        "--port",
        "0",
        "--scale",
        "0.01",
        "--faults",
        "latency=1",
        "--admin",
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True
    )
    try:
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "Ctrl-C" in line:
                break
        output = "".join(lines)
        base_url = re.search(r"simulator on (http://127\.0\.0\.1:\d+)", output).group(1)
        assert "demo / demo-secret" in output
        assert "Orders.Order" in output and "faults: latency=1" in output
        assert re.search(r"started in [\d.]+ s, RSS \d+ MiB", output)
        token = httpx.post(f"{base_url}/identity/1.0/connect/token", data=token_form).json()
        response = httpx.get(
            f"{base_url}/commerce/query/2.0/Orders/Orders",
            params={"$top": "1"},
            headers={"Authorization": f"Bearer {token['access_token']}"},
        )
        assert response.status_code == 200
        assert httpx.get(f"{base_url}/_sim/stats").status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0


def test_cli_rejects_bad_arguments_before_building_data():
    runner = CliRunner()
    result = runner.invoke(simulate, ["--faults", "error_rate=2"])
    assert result.exit_code == 2 and "error_rate" in result.output
    result = runner.invoke(simulate, ["--host", "0.0.0.0"])
    assert result.exit_code == 2 and "loopback" in result.output
    result = runner.invoke(simulate, ["--token-ttl", "0"])
    assert result.exit_code == 2


def test_cli_serves_a_tenant_profile(token_form):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "simulator.cli", "--port", "0", "--scale", "0.01"]
    command += ["--profile", "docs-2.0"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True
    )
    try:
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "Ctrl-C" in line:
                break
        output = "".join(lines)
        assert "profile: docs-2.0" in output
        base_url = re.search(r"simulator on (http://127\.0\.0\.1:\d+)", output).group(1)
        token = httpx.post(f"{base_url}/identity/1.0/connect/token", data=token_form).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        metadata = f"{base_url}/commerce/query/2.0/Orders/$metadata"
        assert httpx.get(metadata, headers=headers).status_code == 500
        served = httpx.get(metadata, headers={**headers, "applicationId": "1"})
        assert '<Property Name="Id" Type="Edm.String"' in served.text
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0


def test_cli_lists_profiles_and_refuses_unknown_ones():
    from flows.cli import main

    runner = CliRunner()
    result = runner.invoke(main, ["simulate", "--help"])  # as norce-wh simulate --help
    assert result.exit_code == 0
    assert "docs-2.0" in result.output and "default" in result.output
    assert "no_customer_forget_flag" in result.output
    result = runner.invoke(simulate, ["--profile", "docs-3.0"])
    assert result.exit_code == 2
    assert "unknown profile 'docs-3.0'" in result.output and "default, docs-2.0" in result.output
    result = runner.invoke(simulate, ["--profile", "docs-2.0,minute_budget=-3"])
    assert result.exit_code == 2 and "minute_budget" in result.output
