"""``norce-wh doctor`` warns when a config file holding a secret is readable by others."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from flows.doctor import Check, render_checks, run_doctor

SECRET_TOML = """
[api]
base_url = "https://acme.api-se.norce.tech"
client_id = "integration"
client_secret = "s3cret-value"

[extract]
pii_salt = "salty-value"

[warehouse]
path = "{warehouse}"
"""


def _refusing_token_endpoint(request: httpx.Request) -> httpx.Response:
    return httpx.Response(400, json={"error": "invalid_client"})


def _doctor(config: Path, env: dict[str, str] | None = None) -> list[Check]:
    return run_doctor(
        env or {}, config_file=config, transport=httpx.MockTransport(_refusing_token_endpoint)
    )


def _config(tmp_path: Path, mode: int, text: str = SECRET_TOML) -> Path:
    path = tmp_path / "norce.toml"
    path.write_text(text.format(warehouse=tmp_path / "wh" / "norce.duckdb"))
    path.chmod(mode)
    return path


@pytest.mark.parametrize(
    ("mode", "who"), [(0o644, "every local user"), (0o640, "its group"), (0o604, "every")]
)
def test_a_config_file_with_secrets_readable_by_others_is_a_warning(
    tmp_path: Path, mode: int, who: str
) -> None:
    config = _config(tmp_path, mode)
    checks = [c for c in _doctor(config) if c.name == "config file"]
    assert len(checks) == 1 and checks[0].level == "warn"
    detail = checks[0].detail
    assert str(config) in detail and who in detail and f"chmod 600 {config}" in detail
    assert "the client secret and the salt" in detail
    assert "s3cret-value" not in render_checks(checks) and "salty" not in detail


def test_the_warning_also_finds_the_file_named_by_norce_config(tmp_path: Path) -> None:
    config = _config(tmp_path, 0o644)
    checks = run_doctor(
        {"NORCE_CONFIG": str(config)}, transport=httpx.MockTransport(_refusing_token_endpoint)
    )
    assert [c.level for c in checks if c.name == "config file"] == ["warn"]


def test_a_private_config_file_or_one_without_secrets_is_fine(tmp_path: Path) -> None:
    private = _config(tmp_path, 0o600)
    assert not [c for c in _doctor(private) if c.name == "config file"]
    public = _config(
        tmp_path, 0o644, '[warehouse]\npath = "{warehouse}"\n[throttle]\nmax_rps = 2\n'
    )
    env = {
        "NORCE_BASE_URL": "https://acme.api-se.norce.tech",
        "NORCE_CLIENT_ID": "x",
        "NORCE_CLIENT_SECRET": "from-the-environment",
    }
    assert not [c for c in _doctor(public, env) if c.name == "config file"]


def test_the_warning_is_given_even_when_the_configuration_is_invalid(tmp_path: Path) -> None:
    config = _config(tmp_path, 0o644, SECRET_TOML.replace("https://", "ftp://"))
    checks = _doctor(config)
    assert any(c.name == "configuration" and c.level == "fail" for c in checks)
    assert [c.level for c in checks if c.name == "config file"] == ["warn"]
