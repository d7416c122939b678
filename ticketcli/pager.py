"""Long output for a person goes through a pager, as git and gh do.

Only :meth:`Context.page` calls this, when stdout is a terminal, ``--no-pager`` was
not given and the text is taller than the terminal. The pager is a shell command
(``TICKETCLI_PAGER``, then ``PAGER``, then ``less -FRX``: quit if one screen,
colours as they are, no clearing of the screen). While it runs, Ctrl-C belongs to
the pager; quitting it early is no error. A pager that cannot be started (exit
127 or 126 from the shell) leaves the text printed as it is, with a note.
"""

from __future__ import annotations

import signal

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .context import Context


def page(c: Context, text: str) -> None:
    command = c.pager_command()
    if command is None:
        c.out(text)
        return
    import subprocess

    env = dict(c.env)
    env.setdefault("LESS", "FRX")
    env.setdefault("LV", "-c")
    try:
        c.stdout.flush()
    except OSError:
        pass
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        try:
            proc = subprocess.Popen(["/bin/sh", "-c", command], stdin=subprocess.PIPE,
                                    env=env)
        except OSError:
            c.out(text)
            return
        assert proc.stdin is not None
        try:
            proc.stdin.write(text.encode("utf-8", "replace"))
            proc.stdin.close()
        except OSError:  # the reader quit (q) before reading it all
            pass
        code = proc.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
    if code in (126, 127):
        c.out(text)
        from .i18n import msg

        c.say(msg("(the pager {command!r} could not be started; set TICKETCLI_PAGER or "
                  "use --no-pager)", command=command))

