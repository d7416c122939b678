"""Write the shell completion scripts in completions/ from the app.

Run after changing commands:  python scripts/gen_completions.py
A test regenerates them and fails when the files in the repository differ.
The scripts call back into `ticketcli` for every completion, so commands,
options, ticket ids, status keys and emails always match the installed
program and the database in use.
"""

from __future__ import annotations

import sys
from pathlib import Path

from typer._completion_shared import get_completion_script

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"bash": "ticketcli.bash", "zsh": "_ticketcli", "fish": "ticketcli.fish"}


def scripts() -> dict[str, str]:
    from ticketcli.cli import app  # noqa: F401  (the app the scripts complete)

    return {
        name: get_completion_script(prog_name="ticketcli", complete_var="_TICKETCLI_COMPLETE",
                                    shell=shell) + "\n"
        for shell, name in TARGETS.items()
    }


def main(out: Path = ROOT / "completions") -> int:
    out.mkdir(exist_ok=True)
    for name, text in scripts().items():
        (out / name).write_text(text)
        print(f"wrote {out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
