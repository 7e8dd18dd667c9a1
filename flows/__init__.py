"""Prefect flows and the ``norce-wh`` command line: orchestration only, no business logic."""
