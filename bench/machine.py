"""Describe the machine a benchmark ran on: CPU, cores, memory, Python, library versions."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

PACKAGES = ("duckdb", "polars", "pyarrow", "httpx", "msgspec", "dlt", "uvicorn")
"""Distributions whose versions go into the report (``missing`` when not installed)."""


def cpu_model() -> str:
    """The CPU model name from ``/proc/cpuinfo``, else what :mod:`platform` knows."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def version(package: str) -> str:
    """Installed version of ``package``, or ``"missing"``."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "missing"


def load_average() -> float:
    """The 1-minute load average (how busy the machine was while measuring)."""
    return round(os.getloadavg()[0], 2)


def describe() -> dict[str, Any]:
    """Everything the report says about the machine, as plain JSON values."""
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count() or 0,
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "packages": {name: version(name) for name in PACKAGES},
        "load_avg_1m_at_start": load_average(),
    }
