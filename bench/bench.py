"""The ticketcli benchmark: build desks of 10k, 100k and 1M tickets through
``import``, time what users and cron do on them, and print one table with each
figure beside its target.

Only the standard library and ticketcli itself. Run it from the project root:

    python bench/bench.py                      # 10k, 100k and 1M
    python bench/bench.py --sizes 10000,100000 # quicker
    python bench/bench.py --sizes 300 --reps 1 # a smoke run (what the tests do)

The pieces (see bench/README.md for what each probe measures, and how):
``data.py`` generates the JSONL desks and knows what each holds, ``probes.py``
measures (start-up, import and its floor, close-stale, size, the queries) and
checks every answer, ``report.py`` keeps the rows and prints the table, and
``stale_child.py`` is the close-stale process. A wrong answer fails the run,
whatever the speed.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

# The sibling modules, whether this runs as a script or is loaded from its path.
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import probes  # noqa: E402
from data import Dataset, generate  # noqa: E402,F401 (generate: for the tests)
from report import Report  # noqa: E402


def main(argv: Sequence[str] | None = None, out: IO[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--sizes", default="10000,100000,1000000",
                        help="comma-separated ticket counts (default: 10000,100000,1000000)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions (default: 3)")
    parser.add_argument("--workdir", help="where to build the desks (default: a temp dir, "
                        "removed afterwards)")
    parser.add_argument("--postgresql", metavar="URL",
                        help="also time start-up on this PostgreSQL database (schemas "
                             "bench_reads and bench_writes are made afresh in it)")
    args = parser.parse_args(argv)
    sizes = sorted(int(s.replace("_", "")) for s in args.sizes.split(","))
    reps = max(1, args.reps)
    if args.workdir:
        work = Path(args.workdir)
        work.mkdir(parents=True, exist_ok=True)
        keep: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
    else:
        keep = tempfile.TemporaryDirectory(prefix="ticketcli-bench-")
        work = Path(keep.name)
    report = Report(sizes, out or sys.stdout)
    with keep:
        probes.startup(report, work, max(reps * 4, 3), args.postgresql)
        built: dict[int, tuple[Path, Dataset]] = {}
        for n in sizes:
            built[n] = probes.desk(report, n, work, reps)
        probes.queries(report, built, reps)
        levels: dict[int, tuple[Path, Dataset]] = {}
        for n in sizes:
            levels[n] = probes.sla_desk(report, n, work, reps)
        probes.sla_queries(report, levels, reps)
        report.finish()
    return 0


if __name__ == "__main__":
    sys.exit(main())
