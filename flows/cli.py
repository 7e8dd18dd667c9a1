"""``norce-wh``: the command line (placeholder until the CLI issue lands)."""

import click


@click.group()
def main() -> None:
    """Norce Commerce Query API -> DuckDB warehouse."""
