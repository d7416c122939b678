"""``notify send``: deliver due outbox messages by SMTP or a local sendmail.

A run claims a few due messages at a time (see :meth:`MailSQL.claim`),
sends each one, and records the outcome:

- delivered: ``sent``;
- refused for now (4xx, a dropped connection, sendmail's EX_TEMPFAIL): tried
  again after a growing delay, and ``failed`` after ``max_attempts``;
- refused for good (5xx): ``failed`` at once, with the server's answer;
- the server cannot be reached at all: the claimed messages go back to the
  queue untouched (no attempt counted) and the run ends with
  :class:`Unreachable` (exit 75), so cron simply tries again later.

A message is sent at least once and, unless a sender is killed between the
server's "250 OK" and the database update, exactly once; its Message-ID never
changes, so a receiving server can spot that rare repeat.
"""

from __future__ import annotations

import secrets
import smtplib
import ssl
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Protocol

from ..clock import iso
from ..errors import (
    ConfigError,
    DeliveryFailure,
    Disconnected,
    PermanentFailure,
    TemporaryFailure,
    Unreachable,
)
from ..store import Store
from ..store.outbox import MailSQL, OutboxMessage
from .compose import compose
from .outbox import render_claimed
from .settings import MailSettings

LEASE = timedelta(minutes=10)
BATCH = 10
# Delay before attempt n+1 after n failed ones (the last value repeats).
BACKOFF = (60, 5 * 60, 15 * 60, 60 * 60, 3 * 60 * 60, 6 * 60 * 60)


class Transport(Protocol):
    def send(self, msg: EmailMessage, sender: str, recipient: str) -> None: ...

    def close(self) -> None: ...


def backoff(attempts: int) -> int:
    """Seconds to wait after ``attempts`` failed attempts."""
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


# -- transports -------------------------------------------------------------------


def _reply(code: int, text: bytes | str) -> str:
    detail = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(detail.split())}".strip()


def _by_code(code: int, text: bytes | str) -> DeliveryFailure:
    message = _reply(code, text)
    return PermanentFailure(message) if 500 <= code < 600 else TemporaryFailure(message)


class SmtpTransport:
    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings
        self.smtp = self._connect()

    def _tls(self) -> ssl.SSLContext:
        try:
            return ssl.create_default_context(cafile=self.settings.cafile)
        except (OSError, ssl.SSLError) as e:
            raise ConfigError(f"cannot load [smtp] cafile {self.settings.cafile}: {e}") from None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        assert s.host is not None
        where = f"SMTP server {s.host}:{s.port}"
        smtp: smtplib.SMTP | None = None
        try:
            if s.security == "ssl":
                smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=self._tls())
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            smtp.ehlo()
            if s.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise ConfigError(f"{where} does not offer STARTTLS; set [smtp] security "
                                      "to ssl or none")
                smtp.starttls(context=self._tls())
                smtp.ehlo()
            if s.username is not None:
                smtp.login(s.username, s.password or "")
            return smtp
        except smtplib.SMTPAuthenticationError as e:
            self._quit(smtp)
            raise ConfigError(f"{where} refused the login of {s.username}: "
                              f"{_reply(e.smtp_code, e.smtp_error)}; check [smtp] username and "
                              "the password variable") from None
        except smtplib.SMTPNotSupportedError:
            self._quit(smtp)
            raise ConfigError(f"{where} does not accept logins (AUTH) on this connection; "
                              "remove [smtp] username or use security starttls/ssl") from None
        except ssl.SSLCertVerificationError as e:
            self._quit(smtp)
            raise ConfigError(f"{where} has a certificate we cannot verify ({e.verify_message}); "
                              "set [smtp] cafile to its CA") from None
        except smtplib.SMTPResponseException as e:
            self._quit(smtp)
            raise Unreachable(f"{where} is not accepting mail ({_reply(e.smtp_code, e.smtp_error)})"
                              "; the messages stay queued, try again later") from None
        except (OSError, smtplib.SMTPException) as e:
            self._quit(smtp)
            reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e) or type(
                e).__name__
            raise Unreachable(f"{where} is unreachable ({reason}); the messages stay queued, "
                              "try again later") from None

    @staticmethod
    def _quit(smtp: smtplib.SMTP | None) -> None:
        if smtp is None:
            return
        try:
            smtp.close()
        except OSError:
            pass

    def send(self, msg: EmailMessage, sender: str, recipient: str) -> None:
        try:
            refused = self.smtp.send_message(msg, from_addr=sender, to_addrs=[recipient])
        except smtplib.SMTPRecipientsRefused as e:
            code, text = e.recipients.get(recipient, next(iter(e.recipients.values()),
                                                          (550, b"refused")))
            raise _by_code(code, text) from None
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as e:
            raise _by_code(e.smtp_code, e.smtp_error) from None
        except smtplib.SMTPNotSupportedError as e:
            raise PermanentFailure(f"the server cannot take this address: {e}") from None
        except smtplib.SMTPServerDisconnected as e:
            raise Disconnected(str(e) or "connection closed") from None
        except smtplib.SMTPResponseException as e:
            raise _by_code(e.smtp_code, e.smtp_error) from None
        except (OSError, smtplib.SMTPException) as e:
            raise Disconnected(str(e) or type(e).__name__) from None
        if refused:
            code, text = next(iter(refused.values()))
            raise _by_code(code, text)

    def close(self) -> None:
        try:
            self.smtp.quit()
        except (OSError, smtplib.SMTPException):
            self._quit(self.smtp)


class SendmailTransport:
    """Pipes each message to ``COMMAND -- RECIPIENT`` (sendmail, msmtp, ...): after
    ``--``, an address is never read as an option."""

    TEMPORARY = {71, 74, 75}  # EX_OSERR, EX_IOERR, EX_TEMPFAIL

    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings

    def send(self, msg: EmailMessage, sender: str, recipient: str) -> None:
        from email.policy import default

        data = msg.as_bytes(policy=default.clone(linesep="\n"))
        argv = [*self.settings.sendmail, "--", recipient]
        try:
            done = subprocess.run(argv, input=data, capture_output=True,
                                  timeout=self.settings.timeout * 4, check=False)
        except FileNotFoundError:
            raise ConfigError(f"sendmail command {argv[0]} not found; check [smtp] "
                              "sendmail") from None
        except PermissionError:
            raise ConfigError(f"sendmail command {argv[0]} is not executable") from None
        except subprocess.TimeoutExpired:
            raise TemporaryFailure("sendmail timed out") from None
        except OSError as e:
            raise Unreachable(f"cannot run {argv[0]}: {e.strerror}; the messages stay queued, "
                              "try again later") from None
        if done.returncode == 0:
            return
        said = " ".join(done.stderr.decode("utf-8", "replace").split())[:300]
        text = f"sendmail exited {done.returncode}" + (f": {said}" if said else "")
        if done.returncode in self.TEMPORARY or done.returncode < 0:
            raise TemporaryFailure(text)
        raise PermanentFailure(text) if done.returncode in (65, 67, 68) else TemporaryFailure(
            text)

    def close(self) -> None:
        return None


def connect(settings: MailSettings) -> Transport:
    return SendmailTransport(settings) if settings.sendmail else SmtpTransport(settings)


# -- the run ------------------------------------------------------------------------


@dataclass
class SendReport:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)


def send_pending(store: Store, settings: MailSettings, clock: Callable[[], datetime], *,
                 limit: int | None = None,
                 connector: Callable[[MailSettings], Transport] = connect) -> SendReport:
    """Deliver due messages until none is left (or ``limit`` were tried)."""
    ms = store.mail
    token = secrets.token_hex(8)
    report = SendReport()
    transport: Transport | None = None
    desk = ms.desk_id()
    tried = 0
    try:
        while limit is None or tried < limit:
            size = BATCH if limit is None else min(BATCH, limit - tried)
            now = clock()
            with store.write():
                rows = render_claimed(store, ms.claim(iso(now), iso(now + LEASE), size,
                                                          token))
            if not rows:
                break
            claimed_at = time.monotonic()
            held = {r.id for r in rows}
            for i, row in enumerate(rows):
                if time.monotonic() - claimed_at > LEASE.total_seconds() / 2:
                    with store.write():
                        held = ms.extend([r.id for r in rows[i:]], token, iso(clock() + LEASE))
                    claimed_at = time.monotonic()
                if row.id not in held:
                    continue  # our lease ran out and another sender took it
                tried += 1
                try:
                    if transport is None:
                        transport = connector(settings)
                    transport = _deliver(store, ms, settings, desk, row, transport, connector)
                except (Unreachable, ConfigError) as e:
                    with store.write():
                        ms.release([r.id for r in rows[i:]], token, e.message)
                    raise
                except TemporaryFailure as e:
                    _retry(store, ms, settings, row, token, str(e), clock(), report)
                except PermanentFailure as e:
                    with store.write():
                        ms.mark_failed(row.id, token, str(e))
                    report.failed.append(row.id)
                    report.errors[row.id] = str(e)
                except BaseException:
                    # Anything unforeseen: hand the rest back rather than wait for the lease.
                    with store.write():
                        ms.release([r.id for r in rows[i:]], token, None)
                    raise
                else:
                    with store.write():
                        ms.mark_sent(row.id, token, iso(clock()))
                    report.sent.append(row.id)
    finally:
        if transport is not None:
            transport.close()
    return report


def _deliver(store: Store, ms: MailSQL, settings: MailSettings, desk: str,
             row: OutboxMessage, transport: Transport,
             connector: Callable[[MailSettings], Transport]) -> Transport:
    """Send one message, reconnecting once if the connection dropped."""
    earlier = ms.thread(row.ticket_id, row.recipient_id, row.id)
    try:
        msg = compose(row, settings, desk, earlier)
    except (ValueError, TypeError, IndexError) as e:
        raise PermanentFailure(f"cannot build the message for {row.address}: {e}") from None
    try:
        transport.send(msg, settings.from_email, row.address)
        return transport
    except Disconnected:
        transport.close()
    fresh = connector(settings)  # Unreachable if the server went away
    try:
        fresh.send(msg, settings.from_email, row.address)
    except Disconnected as e:
        fresh.close()
        raise TemporaryFailure(f"connection lost while sending ({e})") from None
    except BaseException:
        fresh.close()
        raise
    return fresh


def _retry(store: Store, ms: MailSQL, settings: MailSettings, row: OutboxMessage,
           token: str, error: str, now: datetime, report: SendReport) -> None:
    attempts = row.attempts + 1
    with store.write():
        if attempts >= settings.max_attempts:
            ms.mark_failed(row.id, token, f"{error} (gave up after {attempts} attempts)")
            report.failed.append(row.id)
        else:
            ms.mark_retry(row.id, token, error, iso(now + timedelta(seconds=backoff(attempts))))
            report.retrying.append(row.id)
    report.errors[row.id] = error

