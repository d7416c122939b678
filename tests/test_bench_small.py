"""The benchmark, small: it builds desks through import and checks every answer it times.

No timing is asserted (that is the benchmark's job on a quiet machine); this
keeps the script working and its correctness checks passing as the code moves.
"""

from __future__ import annotations

import importlib.util
import io
import sys
from pathlib import Path
from types import ModuleType

from conftest import ROOT


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ticketcli_bench", ROOT / "bench" / "bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_small_bench_runs_and_its_checks_pass(tmp_path: Path) -> None:
    bench = load_bench()
    out = io.StringIO()
    assert bench.main(["--sizes", "300,600", "--reps", "1", "--workdir", str(tmp_path)],
                      out=out) == 0
    table = out.getvalue()
    lines = table.splitlines()
    assert lines[0].startswith("| measure") and "300" in lines[0] and "600" in lines[0]
    for row in ("import rate", "  the database's share alone", "start-up: ticketcli show ID",
                "show ID",
                "list --status pending", "list --search quokka (rare)",
                "list --search wombat (1 in 5,000)", "list --search please",
                "close-stale: longest write transaction", "size per ticket"):
        assert any(line.startswith(f"| {row}") for line in lines), row
    assert "correctness checks passed" in table


def test_generated_data_is_what_the_checks_expect(tmp_path: Path) -> None:
    bench = load_bench()
    data = bench.generate(tmp_path / "d.jsonl", 2000)
    assert data.tickets == 2000
    assert data.stale == 200  # 10% of the tickets
    assert data.rare == 3  # the same at every size
    assert bench.generate(tmp_path / "e.jsonl", 500).rare == 3
    assert data.uncommon == 1  # grows with the desk: 1 in 5,000
    assert 0.8 < data.common / data.tickets < 0.9
    again = bench.generate(tmp_path / "d.jsonl", 2000)  # cached, same figures
    assert again == data
