"""The ``ticketcli`` command: the fast path for plain ``show`` and ``list``,
the full Typer app for everything else."""

from __future__ import annotations

import sys


def main() -> None:
    from .fastpath import run

    code = run(sys.argv[1:])
    if code is None:
        from .cli import main as full

        full()
    else:
        sys.exit(code)


if __name__ == "__main__":
    main()
