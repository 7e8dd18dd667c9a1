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
