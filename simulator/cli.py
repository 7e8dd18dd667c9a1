"""``simulate``: run the bundled Query API simulator until Ctrl-C.

The lead wires this command into the ``norce-wh`` CLI; it also runs on its own with
``python -m simulator.cli``.
"""

from __future__ import annotations

import contextlib
import time

import click
import psutil
import uvicorn

from simulator.app import create_app
from simulator.auth import DEFAULT_CREDENTIALS
from simulator.control import Simulator
from simulator.faults import FaultConfig
from simulator.profiles import PROFILES, Profile, describe
from simulator.server import bind_socket, is_loopback, uvicorn_config

_EPILOG = (
    "\b\nTenant profiles (--profile NAME[,switch[=value]...]):\n"
    + "\n".join(f"  {line}" for line in describe(76).splitlines())
    + "\n\n\b\nSwitches (combine with a profile, e.g. docs-2.0,minute_budget=none):\n"
    "  string_ids, no_count, header_everywhere, reporting_down, no_customer_forget_flag,\n"
    "  no_updated=Ns/Set[,Ns/Set], minute_budget=N|none, budget_window_s=S\n"
    "  (simulator/profiles.py explains each one)"
)


@click.command("simulate", epilog=_EPILOG)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8765, show_default=True, type=int, help="TCP port (0: any).")
@click.option("--seed", default=42, show_default=True, type=int, help="Data seed.")
@click.option(
    "--scale",
    default=1.0,
    show_default=True,
    type=float,
    help="Data volume; 1.0 is about 60k orders.",
)
@click.option(
    "--faults",
    "faults_spec",
    default="",
    metavar="SPEC",
    help='Faults to inject, e.g. "rate_limit=20,error_rate=0.05".',
)
@click.option(
    "--profile",
    "profile_spec",
    default="default",
    show_default=True,
    metavar="NAME",
    help=f"Tenant profile: {', '.join(PROFILES)}, optionally with switches (see below).",
)
@click.option("--admin", is_flag=True, help="Mount the /_sim/ admin routes.")
@click.option(
    "--token-ttl",
    default=3600,
    show_default=True,
    type=int,
    help="Bearer token lifetime in seconds.",
)
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Allow a non-loopback --host (no TLS, demo credentials: be careful).",
)
def simulate(
    host: str,
    port: int,
    seed: int,
    scale: float,
    faults_spec: str,
    profile_spec: str,
    admin: bool,
    token_ttl: int,
    allow_remote: bool,
) -> None:
    """Serve a simulated Norce Commerce Query API 2.0 tenant."""
    if not is_loopback(host) and not allow_remote:
        raise click.UsageError(f"--host {host} is not a loopback address; add --allow-remote")
    try:
        faults = FaultConfig.parse(faults_spec)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--faults") from None
    try:
        profile = Profile.parse(profile_spec)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--profile") from None
    if token_ttl <= 0:
        raise click.BadParameter("must be positive", param_hint="--token-ttl")
    try:
        sock = bind_socket(host, port)
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {exc.strerror}; choose another --port"
        ) from None

    started = time.perf_counter()
    sim = Simulator.create(seed=seed, scale=scale, profile=profile)
    app = create_app(sim, faults=faults, admin=admin, token_ttl=token_ttl)
    elapsed = time.perf_counter() - started
    rss_mb = psutil.Process().memory_info().rss / 2**20

    bound_port = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    base_url = f"http://{shown_host}:{bound_port}"
    client_id, secret = next(iter(DEFAULT_CREDENTIALS.items()))
    click.echo(f"Norce Query API simulator on {base_url}")
    click.echo(f"  query:  {base_url}/commerce/query/2.0/<Namespace>/<EntitySet>")
    click.echo(f"  token:  POST {base_url}/identity/1.0/connect/token")
    click.echo(f"  client: {client_id} / {secret}   (token ttl {token_ttl} s)")
    click.echo(f"  data:   seed {seed}, scale {scale:g}")
    for name, rows in sorted(sim.stats().items()):
        click.echo(f"    {name:<40} {rows:>10,}")
    click.echo(f"  profile: {profile.to_spec()}")
    click.echo(f"  faults: {faults.to_spec() or 'none'}")
    if admin:
        click.echo(f"  admin:  {base_url}/_sim/stats (and POST routes, see simulator/admin.py)")
    click.echo(f"  started in {elapsed:.1f} s, RSS {rss_mb:.0f} MiB. Ctrl-C stops.")
    server = uvicorn.Server(uvicorn_config(app, "warning"))
    # uvicorn re-raises the Ctrl-C it handled; stopping this way is the normal end
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[sock])
    click.echo("simulator stopped")


if __name__ == "__main__":
    simulate()
