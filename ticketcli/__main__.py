"""The ``ticketcli`` command: the fast path for plain ``show``, ``list``, ``open``,
``comment`` and ``set-status`` command lines, the full Typer app for everything else."""

from __future__ import annotations

import sys


def main() -> None:
    from .boundary import finish, guard_streams
    from .fastpath import run

    guard_streams()
    code = run(sys.argv[1:])
    if code is None:
        from .cli import main as full

        full()
    else:
        sys.exit(finish(code))


if __name__ == "__main__":
    main()
