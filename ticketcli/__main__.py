"""The ``ticketcli`` command: the fast path for every plain command line, the Typer
app for the rest (help, completion, mistakes), one error boundary for both."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .context import Context


def run(argv: list[str], context: Context | None = None, *, fast: bool = True) -> int:
    """Run one command line and return its exit code; ``context`` replaces this
    process's (tests give one with their own streams, env or clock); ``fast=False``
    leaves every command line to the Typer app (tests compare both ways)."""
    from .boundary import finish, guard_streams
    from .fastpath import run as fast_path

    if context is None:
        from .context import Context

        guard_streams()
        context = Context.for_process()
    try:
        code = fast_path(context, argv) if fast else None
        if code is None:
            from .cli import run as full

            code = full(context, argv)
    finally:
        context.close()
    return finish(code)


def main() -> None:
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
