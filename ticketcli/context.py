"""The context built once per run and passed to every command.

It carries the environment, the streams, whether stdout is a terminal, the
clock, the global options, the user config and the subscribers that hear of
every change; it opens the store and resolves the actor lazily, so a command
that needs neither pays for neither. Tests build one with fake streams, env and
clock and run the program with it (``ticketcli.__main__.run``).
"""

from __future__ import annotations

import os
import sys

from . import config as cfg
from .clock import iso, utcnow
from .errors import ConfigError, NotFound, UsageError

MAX_NUMBER = 2**63 - 1  # the largest integer SQLite holds

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import datetime
    from typing import IO, Any

    from .desk.checks import Limits
    from .store import ChangeSet, Store, Subscriber, User


def _outbox(store: Store, changes: ChangeSet) -> None:
    """Email notifications: outbox rows in the change's own transaction."""
    from .mail.outbox import enqueue

    enqueue(store, changes)


class Context:
    """One run's environment; the global options come in through :meth:`configure`."""

    def __init__(
        self,
        *,
        env: Mapping[str, str] | None = None,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
        stdin: IO[str] | None = None,
        is_tty: bool = False,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.env: Mapping[str, str] = os.environ if env is None else env
        self.db_option: str | None = None
        self.config_option: str | None = None
        self.as_option: str | None = None
        self.lang_option: str | None = None
        self.no_pager = False
        self.stdout: IO[str] = sys.stdout if stdout is None else stdout
        self.stderr: IO[str] = sys.stderr if stderr is None else stderr
        self.stdin: IO[str] = sys.stdin if stdin is None else stdin
        self.is_tty = is_tty
        self.clock: Callable[[], datetime] = clock or utcnow
        # How the boundary reports exit codes: None for ticketcli's own, or a mapping
        # onto another set (mail-in speaks sysexits.h to mail servers).
        self.exit_codes: Mapping[int, int] | None = None
        # Told each transaction's change set at commit (inside it): the mail outbox.
        self.subscribers: list[Subscriber] = [_outbox]
        self._config: dict[str, Any] | None = None
        self._store: Store | None = None
        self._actor: User | None = None
        self.via: User | None = None
        self._limits: Limits | None = None

    @classmethod
    def for_process(cls) -> Context:
        """The context of this process: its environment, streams and terminal."""
        try:
            tty = sys.stdout.isatty()
        except (AttributeError, ValueError, OSError):
            tty = False
        return cls(stdout=sys.stdout, stderr=sys.stderr, stdin=sys.stdin, is_tty=tty)

    def configure(self, *, db: str | None, config: str | None, as_: str | None,
                  lang: str | None, no_pager: bool = False) -> None:
        """Take the global options (both ways in call this once, before the command).

        An option given an empty value is a usage error rather than its default: a
        script's ``--db "$DB"`` with DB unset must not reach the per-user database.
        (An empty TICKETCLI_* variable means unset, as usual; neither way passes one.)
        """
        if lang is not None and lang not in ("en", "it"):
            raise UsageError(f"--lang must be en or it, not {lang!r}")
        for option, value, what in (("--db", db, "a database path"),
                                    ("--config", config, "a config file path"),
                                    ("--as", as_, "an email address")):
            if value == "":
                raise UsageError(f"{option} needs {what}, not an empty string")
        self.db_option, self.config_option, self.as_option = db, config, as_
        self.lang_option = lang
        self.no_pager = bool(no_pager)

    def dispatch(self, function: Callable[..., int | None],
                 arguments: dict[str, Any]) -> int:
        """Run a command's body with its arguments; its exit code (None is 0). Both ways
        in run every command through here, so a number beyond what the database can hold
        is judged here, for every command: as an id (``ticket_id``, ``--ticket``, ``ids``)
        it names nothing (not found), as anything else it is a usage error."""
        for name, value in arguments.items():
            for number in value if isinstance(value, list) else [value]:
                if type(number) is int and not -MAX_NUMBER - 1 <= number <= MAX_NUMBER:
                    if name.endswith(("_id", "ids")) or name in ("ticket", "follow_up"):
                        raise NotFound(f"{number} not found (no number here is larger than "
                                       f"{MAX_NUMBER})")
                    raise UsageError(f"{number} is out of range (numbers go up to "
                                     f"{MAX_NUMBER})")
        return function(self, **arguments) or 0

    # -- configuration ----------------------------------------------------------

    @property
    def config_path(self) -> str:
        if self.config_option:
            return os.path.expanduser(self.config_option)
        return cfg.default_config_path(self.env)

    @property
    def config(self) -> dict[str, Any]:
        if self._config is None:
            self._config = cfg.load_config(self.config_path, explicit=bool(self.config_option))
        return self._config

    @property
    def lang(self) -> str:
        return cfg.language(self.config, self.env, self.lang_option)

    @property
    def db_path(self) -> str:
        if self.db_option:
            return os.path.expanduser(self.db_option)
        if self.config.get("db"):
            return os.path.expanduser(str(self.config["db"]))
        return cfg.default_db_path(self.env)

    @property
    def busy_timeout(self) -> float:
        """TICKETCLI_BUSY_TIMEOUT (empty means unset), then the config, then the default.

        A value that is not a number of seconds is bad configuration (exit 78).
        """
        from .store.connection import DEFAULT_BUSY_TIMEOUT

        raw = self.env.get("TICKETCLI_BUSY_TIMEOUT")
        if raw:
            try:
                value = float(raw)
                if value != value or value in (float("inf"), float("-inf")):
                    raise ValueError(raw)
            except ValueError:
                raise ConfigError(
                    f"TICKETCLI_BUSY_TIMEOUT must be a number of seconds, not {raw!r}; "
                    "fix or unset the variable"
                ) from None
            return max(value, 0.0)
        configured = self.config.get("busy_timeout")  # checked when the file was read
        return DEFAULT_BUSY_TIMEOUT if configured is None else max(float(configured), 0.0)

    @property
    def limits(self) -> Limits:
        """The desk's limits (``desk set``), lowered by the user config's own."""
        if self._limits is None:
            from .desk.checks import LIMIT_KEYS, limits_from

            user = {k: int(self.config[k]) for k in LIMIT_KEYS if k in self.config}
            self._limits = limits_from(self.store().desk_limits(), user)
        return self._limits

    # -- resources ----------------------------------------------------------------

    def open_store(self) -> Store:
        """The store, created on first use; without a workflow it is given none."""
        if self._store is None:
            from .store import Store

            path = self.db_path
            busy_timeout = self.busy_timeout  # settings first: a bad one creates nothing
            if not self.db_option and not self.config.get("db"):
                os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            self._store = Store.open(path, busy_timeout=busy_timeout)
            self._store.subscribers.extend(self.subscribers)
        return self._store

    def store(self) -> Store:
        """The store with a workflow: a new database gets the standard preset."""
        store = self.open_store()
        if not store.has_workflow():
            from .workflow import load_preset

            wf = load_preset("standard")
            with store.write():
                if not store.has_workflow():
                    store.set_workflow(wf)
        return store

    def requested_actor(self) -> str | None:
        """Who the run asks to act as: --as (or TICKETCLI_USER), then the config's user."""
        if self.as_option:
            return self.as_option
        if self.config.get("user"):
            return str(self.config["user"])
        return None

    def actor_email(self) -> str:
        return self.requested_actor() or cfg.login_actor(self.env)

    def actor(self) -> User:
        """The acting person (see :func:`ticketcli.desk.people.resolve_actor`); when they
        are acted for, :attr:`via` is the person really acting, recorded with every
        change this run makes."""
        if self._actor is None:
            from .desk.people import resolve_actor

            store = self.store()
            self._actor, self.via = resolve_actor(store, self.requested_actor(),
                                                  store.db.login(), cfg.login_actor(self.env),
                                                  self.now_iso())
            store.db.via_id = self.via.id if self.via is not None else None
        return self._actor

    def now(self) -> datetime:
        return self.clock()

    def now_iso(self) -> str:
        return iso(self.clock())

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    # -- output -------------------------------------------------------------------

    def format(self, requested: str | None) -> str:
        from .output import PLAIN

        return requested or ("table" if self.is_tty else PLAIN)

    @property
    def columns(self) -> int | None:
        """How wide a table may be: ``COLUMNS``, then the terminal's own width; None
        when neither is known (output to a file or a pipe)."""
        raw = self.env.get("COLUMNS", "")
        if raw.isascii() and raw.isdigit() and int(raw) > 0:
            return int(raw)
        if not self.is_tty:
            return None
        try:
            return os.get_terminal_size(self.stdout.fileno()).columns or None
        except (AttributeError, ValueError, OSError):
            return None

    @property
    def rows(self) -> int | None:
        """How many lines the terminal shows: ``LINES``, then the terminal's own height."""
        raw = self.env.get("LINES", "")
        if raw.isascii() and raw.isdigit() and int(raw) > 0:
            return int(raw)
        if not self.is_tty:
            return None
        try:
            return os.get_terminal_size(self.stdout.fileno()).lines or None
        except (AttributeError, ValueError, OSError):
            return None

    def out(self, text: str) -> None:
        """Data on stdout; on a terminal, whatever the format, with control and bidi
        characters shown rather than obeyed (a pipe or a file gets it exactly)."""
        if text:
            if self.is_tty:
                from .output.table import terminal

                text = terminal(text)
            self.stdout.write(text)
            self.stdout.flush()

    def page(self, text: str) -> None:
        """Data for a person: through the pager when stdout is a terminal and the text is
        taller than it (``TICKETCLI_PAGER``, then ``PAGER``, then ``less -FRX``; never
        with ``--no-pager`` or when piped); else as :meth:`out`."""
        if not self.is_tty or self.no_pager or not text:
            self.out(text)
            return
        rows = self.rows
        if rows is None or text.count("\n") < rows:
            self.out(text)
            return
        from .output.table import terminal
        from .pager import page

        page(self, terminal(text))

    def pager_command(self) -> str | None:
        """The pager to use (None: none, as for an empty ``PAGER`` or ``cat``)."""
        for var in ("TICKETCLI_PAGER", "PAGER"):
            if var in self.env:
                value = self.env[var].strip()
                return None if value in ("", "cat") else value
        return "less -FRX"

    def stdin_is_tty(self) -> bool:
        try:
            return bool(self.stdin.isatty())
        except (AttributeError, ValueError, OSError):
            return False

    def text(self, message: str) -> str:
        """``message`` in the user's language (see :mod:`ticketcli.i18n`)."""
        if type(message) is str:
            return message
        from .i18n import translate

        try:
            lang = self.lang
        except Exception:  # a broken config is reported by whatever reads it next
            lang = "en"
        return translate(message, lang)

    def say(self, message: str) -> None:
        """A message for people: stderr, never mixed with data, in their language, control
        and bidi characters shown rather than obeyed."""
        from .output.table import terminal

        self.stderr.write(terminal(self.text(message)) + "\n")
        self.stderr.flush()
