"""notify: deliver the outbox (from cron), list it, retry, languages, templates."""

from __future__ import annotations

from ..errors import PermissionDenied, UsageError
from ..output import check_format
from .inputs import ticket_id

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Annotated

    import typer

    from ..context import Context
    from .params import FormatOption

LIST_COLUMNS = ["id", "ticket", "recipient", "kind", "state", "attempts", "created_at",
                "subject"]


def send(
    c: Context,
    limit: Annotated[
        int | None, typer.Option("--limit", metavar="N",
                                 help="Try at most N messages (0: no limit).")
    ] = None,
    now: Annotated[
        str | None, typer.Option("--now", metavar="TIME",
                                 help="Take this as the current time: ISO-8601, a date, "
                                      "today, yesterday or an age such as 2h (default: now).")
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", help="Print only the messages that were refused.")
    ] = False,
) -> None:
    """Deliver pending notifications by SMTP or sendmail ([smtp] in the config).

    Safe to run from cron every minute, even several at once: each message is
    claimed by one run and sent once. A refused message is retried later with
    a growing delay and marked failed after [smtp] max_attempts. Exit 75 when
    the server cannot be reached (the messages stay queued), 78 when [smtp] is
    missing or wrong.

    \b
    Examples:
      ticketcli notify send
      ticketcli notify send --quiet --limit 200
      * * * * * ticketcli --db /srv/helpdesk.db notify send --quiet
    """
    from ..clock import iso, parse_when
    from ..mail.settings import load

    if limit is not None and limit < 0:
        raise UsageError("--limit must be 0 or more")
    if limit == 0:
        limit = None  # as in list: 0 is no limit
    settings = load(c.config, c.env, str(c.config_path))
    fixed = parse_when(now, c.now()) if now is not None else None
    store = c.store()
    if not store.mail.anything_due(iso(fixed or c.now())):
        if not quiet:
            c.say(f"notify send: 0 sent, 0 to retry, 0 failed (via {settings.where}).")
        return
    from ..mail.sender import send_pending

    report = send_pending(store, settings, (lambda: fixed) if fixed else c.clock, limit=limit)
    for outbox_id, error in report.errors.items():
        state = "failed" if outbox_id in report.failed else "will be retried"
        c.say(f"message {outbox_id} {state}: {error}")
    if not quiet:
        c.say(f"notify send: {len(report.sent)} sent, {len(report.retrying)} to retry, "
              f"{len(report.failed)} failed (via {settings.where}).")


def list_(
    c: Context,
    state: Annotated[
        list[str] | None,
        typer.Option("--state", "-s", metavar="STATE",
                     help="pending, sending, sent or failed (repeatable)."),
    ] = None,
    ticket: Annotated[
        int | None, typer.Option("--ticket", "-t", metavar="ID", parser=ticket_id,
                                 help="Only this ticket (12 or #12).")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", metavar="N", help="At most N messages (0: all).")
    ] = 100,
    fmt: FormatOption = None,
) -> None:
    """Show the outbox, newest first, with each message's state (staff only).

    \b
    Examples:
      ticketcli notify list
      ticketcli notify list --state failed --format json
      ticketcli notify list --ticket 42
    """
    from ..store.outbox import STATES

    check_format(fmt)
    for s in state or []:
        if s not in STATES:
            raise UsageError(f"unknown state {s!r}; choose one of: {', '.join(STATES)}")
    if limit < 0:
        raise UsageError("--limit must be 0 or more")
    store = c.store()
    _staff(c.actor().staff, "see the outbox")
    from ..mail.outbox import rendered
    from ..output import render_rows

    ms = store.mail
    rows = rendered(store, ms.messages(states=state or [], ticket_id=ticket,
                                           limit=limit or None))
    records = [
        {
            "id": m.id, "ticket": m.ticket_id, "recipient": m.address, "kind": m.kind,
            "lang": m.lang, "state": m.state, "attempts": m.attempts,
            "next_attempt_at": m.next_attempt_at if m.state == "pending" else None,
            "sent_at": m.sent_at, "error": m.last_error, "created_at": m.created_at,
            "subject": m.subject, "body": m.body,
        }
        for m in rows
    ]
    fmt = c.format(fmt)
    columns = LIST_COLUMNS if fmt == "table" else [*LIST_COLUMNS, "next_attempt_at",
                                                   "sent_at", "error"]
    c.out(render_rows(records, columns, fmt, lang=c.lang))


def retry(
    c: Context,
    ids: Annotated[
        list[int] | None, typer.Argument(metavar="ID...", help="Failed messages to retry.")
    ] = None,
    all_failed: Annotated[
        bool, typer.Option("--all-failed", help="Retry every failed message.")
    ] = False,
) -> None:
    """Put failed messages back in the queue for the next 'notify send' (staff only).

    \b
    Examples:
      ticketcli notify retry 17 18
      ticketcli notify retry --all-failed
    """

    if bool(ids) == all_failed:
        raise UsageError("name the messages to retry, or give --all-failed (not both)")
    store = c.store()
    _staff(c.actor().staff, "retry messages")
    ms = store.mail
    with store.write():
        chosen = ms.failed_ids() if all_failed else list(ids or [])
        changed = ms.requeue(chosen, c.now_iso())
    c.say(f"{changed} message(s) queued again.")


def prefs(
    c: Context,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="EVENT=on|off",
                     help="Turn a notification on or off (repeatable): assigned (default "
                          "on), customer_reply (on), new_ticket (off)."),
    ] = None,
    fmt: FormatOption = None,
) -> None:
    """Show or change which notifications you get by mail (agents and admins).

    assigned: a ticket was assigned to you by someone else. customer_reply: the
    customer side replied to a ticket assigned to you. new_ticket: a ticket was
    opened and no one is assigned to it. You never hear of what you did yourself.

    \b
    Examples:
      ticketcli notify prefs
      ticketcli notify prefs --set new_ticket=on
      ticketcli notify prefs --set assigned=off --set customer_reply=on --format json
    """
    from ..desk.prefs import NOTIFY_EVENTS, check_event, notify_prefs
    from ..i18n import msg

    check_format(fmt)
    changes: dict[str, bool] = {}
    for item in set_ or []:
        event, sep, value = item.partition("=")
        state = value.strip().lower()
        if not sep or state not in ("on", "off"):
            raise UsageError(msg("--set takes EVENT=on or EVENT=off, not {item!r}", item=item))
        changes[check_event(event.strip())] = state == "on"
    chosen = notify_prefs(c.store(), c.actor(), changes)
    records = [{"event": event, "enabled": on, "default": NOTIFY_EVENTS[event]}
               for event, on in chosen.items()]
    from ..output import render_rows

    c.out(render_rows(records, ["event", "enabled", "default"], c.format(fmt), lang=c.lang))
    if changes:
        c.say(msg("Saved: {choices}.", choices=", ".join(
            f"{e}={'on' if on else 'off'}" for e, on in changes.items())))


def lang_(
    c: Context,
    language: Annotated[str, typer.Argument(metavar="LANG", help="en or it.")],
    user: Annotated[
        str | None, typer.Option("--user", "-u", metavar="EMAIL",
                                 help="Set this person's language (default: the desk's).")
    ] = None,
) -> None:
    """Set the language of a person's notifications, or the desk's default.

    People without a language of their own get the desk's default (en unless
    set). New customers writing in by mail get the one their mail declares.

    \b
    Examples:
      ticketcli notify lang it
      ticketcli notify lang en --user anna@example.com
    """
    from ..desk.people import find_user
    from ..mail.templates import check_lang

    check_lang(language)
    store = c.store()
    actor = c.actor()
    ms = store.mail
    with store.write():
        if user is None:
            if actor.role != "admin":
                raise PermissionDenied("only admins may set the desk's language")
            ms.set_default_lang(language)
            target = "the desk's default"
        else:
            person = find_user(store, user)
            if person.id != actor.id and actor.role != "admin":
                raise PermissionDenied("only admins may set another person's language")
            ms.set_user_lang(person.id, language)
            target = person.email
    c.say(f"Notification language for {target}: {language}.")


# -- templates ---------------------------------------------------------------------


def template_show(
    c: Context,
    kind: Annotated[
        str | None, typer.Argument(metavar="KIND", help="opened, reply, status, reminder, "
                                   "autoclosed or shared; none lists them.")
    ] = None,
    lang: Annotated[str, typer.Option("--lang", "-l", metavar="LANG", help="en or it.")] = "en",
) -> None:
    """Print a template as 'Subject: ...', a blank line and the body (staff only).

    The output is the file format 'notify template set' reads; placeholders
    are listed with --help of 'notify template set'.

    \b
    Examples:
      ticketcli notify template show
      ticketcli notify template show reply --lang it > reply.it.txt
    """
    from ..mail.templates import DEFAULTS, KINDS, LANGS, check_kind, check_lang

    store = c.store()
    _staff(c.actor().staff, "see templates")
    ms = store.mail
    if kind is None:
        from ..output import render_rows

        custom = ms.custom_templates()
        records = [{"kind": k, "lang": la, "source": "custom" if (k, la) in custom else
                    "built-in"} for k in KINDS for la in LANGS]
        c.out(render_rows(records, ["kind", "lang", "source"], c.format(None), lang=c.lang))
        return
    check_kind(kind)
    check_lang(lang)
    subject, body = ms.template(kind, lang) or DEFAULTS[(kind, lang)]
    c.out(f"Subject: {subject}\n\n{body}")


def template_set(
    c: Context,
    kind: Annotated[str, typer.Argument(metavar="KIND")],
    source: Annotated[
        str, typer.Option("--file", metavar="PATH", help="'Subject: ...', a blank line, the "
                          "body (- for stdin).")
    ],
    lang: Annotated[str, typer.Option("--lang", "-l", metavar="LANG", help="en or it.")] = "en",
) -> None:
    """Override a template (admins only); it applies to messages written from now on.

    Placeholders: $id $title $status $previous $recipient $actor $body
    $status_change $resolution $attachments $closes_at $follow_up $marker.
    The subject always gets [#ID] if the template leaves it out.

    \b
    Examples:
      ticketcli notify template show opened --lang it > opened.txt
      ticketcli notify template set opened --lang it --file opened.txt
    """
    from ..mail.templates import check_kind, check_lang, validate
    from .inputs import read_text

    check_kind(kind)
    check_lang(lang)
    text = read_text(c, source, "template").replace("\r\n", "\n")
    head, sep, body = text.partition("\n\n")
    if not sep or not head.startswith("Subject:") or "\n" in head:
        raise UsageError("a template file starts with one 'Subject: ...' line, then a blank "
                         "line, then the body (as 'notify template show' prints it)")
    subject = head[len("Subject:"):].strip()
    validate(subject, body)
    store = c.store()
    actor = c.actor()
    if actor.role != "admin":
        raise PermissionDenied("only admins may change templates")
    with store.write():
        store.mail.set_template(kind, lang, subject, body, c.now_iso())
    c.say(f"Template {kind} ({lang}) saved.")


def template_reset(
    c: Context,
    kind: Annotated[str, typer.Argument(metavar="KIND")],
    lang: Annotated[str, typer.Option("--lang", "-l", metavar="LANG", help="en or it.")] = "en",
) -> None:
    """Go back to the built-in template (admins only).

    \b
    Examples:
      ticketcli notify template reset opened --lang it
    """
    from ..mail.templates import check_kind, check_lang

    check_kind(kind)
    check_lang(lang)
    store = c.store()
    if c.actor().role != "admin":
        raise PermissionDenied("only admins may change templates")
    with store.write():
        removed = store.mail.delete_template(kind, lang)
    c.say(f"Template {kind} ({lang}) " + ("reset to the built-in text." if removed else
                                          "was already the built-in one."))


def _staff(staff: bool, what: str) -> None:
    if not staff:
        raise PermissionDenied(f"only agents and admins may {what}")
