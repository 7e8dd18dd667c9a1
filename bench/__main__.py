"""``python -m bench [--quick]``: run the benchmark and write ``bench/results/``.

The full run (``make bench``) writes ``latest.md`` and ``latest.json``; ``--quick`` (scale
0.05, one scale for the series) writes ``quick.md``/``quick.json`` so a smoke run never
replaces the committed figures. ``--out`` picks another directory. ``--cycle-only``
measures only the 15-minute cycle (:mod:`bench.cycle`) at the configured scales (with
``--quick``: the smoke scale) and writes ``cycle.md``/``cycle.json``. ``--cycle-scales
1,5`` picks the cycle's scales and ``--keep-full DIR`` keeps each scale's full run for the
next bench of the same code (:func:`bench.cycle.code_digest`). ``--render FILE.json``
rewrites the Markdown next to an existing JSON result without measuring anything.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from pathlib import Path
from types import FrameType

from bench.report import render, render_cycles, write, write_cycles
from bench.suite import QUICK, BenchConfig, run_cycles, run_suite

RESULTS = Path(__file__).resolve().parent / "results"


def _stop(signum: int, frame: FrameType | None) -> None:
    # SIGTERM unwinds like Ctrl-C, so the simulator and any child workload are stopped
    raise SystemExit(128 + signum)


def _scales(text: str) -> tuple[float, ...]:
    try:
        scales = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"comma list of scales, e.g. 1,5; got {text!r}") from None
    if not scales or min(scales) <= 0:
        raise argparse.ArgumentTypeError(f"scales must be positive, got {text!r}")
    return scales


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke size: scale 0.05")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for the results")
    parser.add_argument(
        "--concurrency", type=int, default=4, help="requests in flight for every contender"
    )
    parser.add_argument(
        "--cycle-only", action="store_true", help="measure only the 15-minute cycle"
    )
    parser.add_argument(
        "--cycle-scales",
        type=_scales,
        metavar="S,S",
        help="scales of the cycle, e.g. 1,5 (default: 1,5,20; with --quick: the smoke scale)",
    )
    parser.add_argument(
        "--no-cycle",
        action="store_true",
        help="leave the 15-minute cycle out of a full run (measure it with --cycle-only)",
    )
    parser.add_argument(
        "--keep-full",
        type=Path,
        metavar="DIR",
        help="keep each scale's full run in DIR and reuse it while the code is unchanged",
    )
    parser.add_argument(
        "--render", type=Path, metavar="JSON", help="only re-render the Markdown of a result"
    )
    args = parser.parse_args(argv)
    if args.render is not None:
        md_path = args.render.with_suffix(".md")
        data = json.loads(args.render.read_text())
        md_path.write_text(render_cycles(data) if "ceiling" not in data else render(data))
        print(f"wrote {md_path}", file=sys.stderr)
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    signal.signal(signal.SIGTERM, _stop)
    base = QUICK if args.quick else BenchConfig()
    cfg = BenchConfig(**{**base.__dict__, "concurrency": args.concurrency})
    keep = None if args.keep_full is None else str(args.keep_full.resolve())
    cfg = BenchConfig(**{**cfg.__dict__, "cycle_keep": keep})
    if args.cycle_scales is not None:
        cfg = BenchConfig(**{**cfg.__dict__, "cycle_scales": args.cycle_scales})
    if args.no_cycle:
        cfg = BenchConfig(**{**cfg.__dict__, "cycle_scales": ()})
    if args.cycle_only:
        if args.quick and args.cycle_scales is None:
            cfg = BenchConfig(**{**cfg.__dict__, "cycle_scales": cfg.scales})
        json_path, md_path = write_cycles(run_cycles(cfg), args.out, "cycle")
        print(md_path.read_text())
        print(f"wrote {md_path} and {json_path}", file=sys.stderr)
        return 0
    results = run_suite(cfg)
    json_path, md_path = write(results, args.out, "quick" if args.quick else "latest")
    print(md_path.read_text())
    print(f"wrote {md_path} and {json_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
