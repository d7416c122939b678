"""The bench's table: figures (medians with their spread), rows with their targets,
the verdicts, the correctness checks, and printing it all.

Standard library only: nothing here imports ticketcli.
"""

from __future__ import annotations

import statistics
import sys
from dataclasses import dataclass, field
from typing import IO

from data import COMMON, UNCOMMON

QUERY_TARGET = "1M within 1.5x of 10k"
QUERY_RATIO = 1.5  # the largest desk's median over the smallest's
COMMON_LIMIT = 0.050  # seconds: a search for a common word, at any size
FLOOR = "start-up: python -c 'import sqlite3'"  # the start-up floor's row
STARTUP = 0  # the cell of rows measured once, on a small desk (shown in the first column)


@dataclass
class Figure:
    samples: list[float]
    unit: str = "ms"

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def text(self) -> str:
        scale = 1000.0 if self.unit == "ms" else 1.0
        m = self.median * scale
        lo, hi = min(self.samples) * scale, max(self.samples) * scale
        if len(self.samples) == 1:
            return f"{_num(m)} {self.unit}"
        return f"{_num(m)} {self.unit} ({_num(lo)}-{_num(hi)})"


def _num(x: float) -> str:
    if x >= 100_000:
        return f"{x:,.0f}"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


@dataclass
class Row:
    name: str
    target: str
    cells: dict[int, str] = field(default_factory=dict)
    verdict: str = ""


def verdict(ok: bool, detail: str = "") -> str:
    return ("ok" if ok else "MISS") + (f" ({detail})" if detail else "")


def size_name(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def query_target(name: str) -> str:
    """The target of a show, list or search row."""
    if COMMON in name:
        return QUERY_TARGET + "; < 50 ms"
    if UNCOMMON in name:  # 2 tickets at 10k, a full page at 1M: not the same query
        return "none (the answer grows)"
    return QUERY_TARGET


class BenchFailed(SystemExit):
    """A wrong answer: the run stops, whatever the speed."""


class Report:
    """Every row of the table, the whole-command times beside it, the checks passed."""

    def __init__(self, sizes: list[int], out: IO[str]) -> None:
        self.sizes = sizes
        self.out = out
        self.rows: dict[str, Row] = {}
        self.commands: dict[str, Row] = {}  # the show and list rows, whole command in-process
        self.raw: dict[str, dict[int, Figure]] = {}
        self.plans: dict[str, str] = {}  # EXPLAIN QUERY PLAN at the largest size, by row
        self.checks: list[str] = []
        self.notes: list[str] = []  # printed under the table

    def say(self, text: str) -> None:
        """Progress, on stderr."""
        print(text, file=sys.stderr, flush=True)

    def row(self, name: str, target: str) -> Row:
        if name not in self.rows:
            self.rows[name] = Row(name, target)
        return self.rows[name]

    def put(self, name: str, target: str, size: int, fig: Figure) -> None:
        self.row(name, target).cells[size] = fig.text()
        self.raw.setdefault(name, {})[size] = fig

    def put_command(self, name: str, size: int, fig: Figure) -> None:
        self.commands.setdefault(name, Row(name, "")).cells[size] = fig.text()

    def put_ratio(self, name: str, fig: Figure, base: Figure, ratio: float,
                  target: str) -> None:
        """A start-up row: its figure, and its verdict as a multiple of ``base``."""
        self.put(name, f"{target} ({base.median * ratio * 1000:.0f} ms)", STARTUP, fig)
        self.rows[name].verdict = verdict(fig.median <= base.median * ratio,
                                          f"{fig.median / base.median:.2f}x")

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            raise BenchFailed(f"bench check failed: {what}")
        self.checks.append(what)

    # -- verdicts and the table ---------------------------------------------------------

    def finish(self) -> None:
        smallest, largest = min(self.sizes), max(self.sizes)
        for name, figs in self.raw.items():
            row = self.rows[name]
            if name.startswith(("show", "list")) and UNCOMMON not in name \
                    and smallest in figs and largest in figs and largest > smallest:
                ratio = figs[largest].median / figs[smallest].median
                ok = ratio <= QUERY_RATIO
                if COMMON in name:
                    ok = ok and figs[largest].median <= COMMON_LIMIT
                row.verdict = verdict(ok, f"{ratio:.2f}x")
            elif name.startswith("import rate"):
                row.verdict = verdict(figs[largest].median >= 50_000)
            elif name.startswith("size per"):
                row.verdict = verdict(max(f.median for f in figs.values()) < 1024)
            elif name.startswith("close-stale: total") and largest >= 1_000_000:
                row.verdict = verdict(figs[largest].median < 10)
            elif name.startswith("sla check: first") and largest >= 1_000_000:
                row.verdict = verdict(figs[largest].median < 10)
            elif name.startswith("sla check: nothing due") and FLOOR in self.raw:
                floor = self.raw[FLOOR][STARTUP].median
                worst = max(f.median for f in figs.values())
                row.verdict = verdict(worst <= floor * 3.0, f"{worst / floor:.2f}x")
            elif name.startswith("report --by week") and largest >= 1_000_000:
                row.verdict = verdict(figs[largest].median < 5)
            elif name.startswith("close-stale: longest"):
                row.verdict = verdict(max(max(f.samples) for f in figs.values()) < 0.050)
            elif name.startswith("close-stale: peak"):
                row.verdict = verdict(max(max(f.samples) for f in figs.values()) < 100)
        self.print_table()

    def print_table(self) -> None:
        out = self.out
        headers = ["measure", *(size_name(s) for s in self.sizes), "target", "verdict"]
        lines = []
        for r in self.rows.values():
            cells = [r.cells.get(s, "") for s in self.sizes]
            if STARTUP in r.cells:  # measured once, on a small desk
                cells[0] = r.cells[STARTUP]
            lines.append([r.name, *cells, r.target, r.verdict])
        _print_grid(out, headers, lines)
        print(file=out)
        print("show and list rows are query time: the use case (desk.tickets.show, "
              "desk.listing.list_tickets or count_tickets) on a store just opened.", file=out)
        print(f"Medians of repeated runs, (min-max) beside them; {len(self.checks)} "
              "correctness checks passed.", file=out)
        for note in self.notes:
            print(note, file=out)
        print("\nThe same commands whole, in-process (parse, open, query, render JSON):",
              file=out)
        _print_grid(out, ["command", *(size_name(s) for s in self.sizes)],
                    [[r.name, *(r.cells.get(s, "") for s in self.sizes)]
                     for r in self.commands.values()])
        slow = [name for name, r in self.rows.items() if r.verdict.startswith("MISS")
                and self.plans.get(name)]
        if slow:
            print(f"\nQuery plans at {size_name(max(self.sizes))} of the rows that miss:",
                  file=out)
            for name in slow:
                print(f"  {name}:\n{self.plans[name]}", file=out)


def _print_grid(out: IO[str], headers: list[str], lines: list[list[str]]) -> None:
    widths = [max(len(x[i]) for x in [headers, *lines]) for i in range(len(headers))]

    def fmt(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    print(fmt(headers), file=out)
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|", file=out)
    for line in lines:
        print(fmt(line), file=out)
