"""The bench's data: JSONL desks as ``ticketcli export`` writes them, what each holds
(the figures the correctness checks expect), and the generated files kept between runs.

Standard library only: nothing here imports ticketcli.
"""

from __future__ import annotations

import calendar
import json
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ADMIN = "admin@bench.example"
# The bench's "now": today, midnight UTC (``list --stale`` judges by the real clock).
NOW = time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime())
COMMON = "please"  # in about 85% of tickets
RARE = "quokka"  # in 3 tickets at every size: an error code, an order number
UNCOMMON = "wombat"  # in 1 ticket of every 5,000: its answer grows with the desk
RARE_AT = (0.1, 0.5, 0.9)  # where the rare word's tickets sit among the ids
GENERATOR = 2  # bump when the generated data changes (invalidates cached files)
STATUSES = [  # (status, share) for the standard workflow
    ("new", 0.05), ("open", 0.15), ("pending", 0.10), ("on_hold", 0.05),
    ("solved", 0.15), ("closed", 0.50),
]
STALE_SHARE = 0.10  # of all tickets: solved, idle for more than 14 days
PRIORITIES = [("low", 0.2), ("normal", 0.6), ("high", 0.15), ("urgent", 0.05)]
CATEGORIES = ["printing", "network", "email", "vpn", "laptop", "phone", "accounts",
              "billing", "storage", "backup", "security", "software"]
AGENTS = 20
DAY = 86400
# The service-level desks (data.generate(..., sla=True)): one ticket in ten is in
# category "contract", under the policy below; one in a hundred is an open contract
# ticket answered at once but not solved within 40 business hours (at least two
# weeks old): the breaches the first ``sla check`` records, 10,000 at 1M. The other
# contract tickets are closed (their clocks over, nothing to record).
CONTRACT = "contract"
SLA_POLICY = """
[calendars.office]
timezone = "Europe/Rome"
holidays_country = "IT"

[calendars.office.hours]
mon = ["09:00-13:00", "14:00-18:00"]
tue = ["09:00-13:00", "14:00-18:00"]
wed = ["09:00-13:00", "14:00-18:00"]
thu = ["09:00-13:00", "14:00-18:00"]
fri = ["09:00-13:00", "14:00-18:00"]

[[sla]]
name = "contract"
priorities = ["low", "normal", "high", "urgent"]
categories = ["contract"]
calendar = "office"
first_response = "4h"
next_reply = "8h"
resolution = "40h"
warn_before = "1h"
"""


def _vocabulary(rng: random.Random) -> tuple[list[str], list[float]]:
    """Help-desk words first, then made-up ones; Zipf-like weights (cumulative)."""
    common = (
        "the a to is not and it of my on in i we with for this when after since can "
        "cannot error printer server email login password update screen network "
        "connection file access laptop phone vpn office again still working works "
        "problem issue today yesterday morning users account message window open "
        "start restart install version windows mac linux browser page shows get"
    ).split()
    syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "po", "si", "ve", "do", "ga", "zi",
                 "fe", "mo", "lu", "ri", "sa", "te", "bo", "ni", "pra", "sto", "gle", "tur"]
    words, seen = list(common), set(common) | {COMMON, RARE, UNCOMMON}
    while len(words) < 30_000:
        w = "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))
        if w not in seen:
            seen.add(w)
            words.append(w)
    total, cum = 0.0, []
    for i in range(len(words)):
        total += 1 / (i + 1) ** 1.07
        cum.append(total)
    return words, cum


def _stamp(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _pick(rng: random.Random, table: Sequence[tuple[str, float]]) -> str:
    x, acc = rng.random(), 0.0
    for value, share in table:
        acc += share
        if x < acc:
            return value
    return table[-1][0]


@dataclass
class Dataset:
    path: Path
    tickets: int
    stale: int = 0
    rare: int = 0
    uncommon: int = 0
    common: int = 0
    active: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    text_chars: int = 0
    under_policy: int = 0  # service-level desks: contract tickets
    breaches: int = 0  # and those the first sla check finds breached
    last_year: int = 0  # tickets opened in the 365 days before the bench's now


def customers_for(n: int) -> int:
    return max(50, n // 10)


def generate(path: Path, n: int, seed: int = 1, *, sla: bool = False) -> Dataset:
    """A JSONL export of ``n`` tickets as ``ticketcli export`` writes them (cached);
    ``sla``: the service-level desk (see CONTRACT)."""
    meta = path.with_suffix(".meta.json")
    if path.exists() and meta.exists():
        saved = json.loads(meta.read_text())
        if (saved.get("tickets") == n and saved.get("seed") == seed
                and saved.get("now") == NOW and saved.get("generator") == GENERATOR
                and saved.get("sla", False) == sla):
            for key in ("seed", "now", "generator", "sla"):
                saved.pop(key, None)
            return Dataset(path=path, **{k: v for k, v in saved.items() if k != "path"})
    data = _generate(path, n, seed, sla)
    fields = {k: v for k, v in vars(data).items() if k != "path"}
    meta.write_text(json.dumps({**fields, "seed": seed, "now": NOW, "generator": GENERATOR,
                                "sla": sla}))
    return data


def _generate(path: Path, n: int, seed: int, sla: bool = False) -> Dataset:
    rng = random.Random(seed)
    words, cum = _vocabulary(rng)
    now = now_seconds()
    orgs = max(5, n // 2000)
    customers = customers_for(n)
    data = Dataset(path, n)
    stale_every = round(1 / STALE_SHARE)
    rare_ids = {max(1, round(n * at)) for at in RARE_AT}
    with open(path, "w", encoding="utf-8") as out:
        w = out.write
        w(json.dumps({"type": "ticketcli-export", "version": 1, "exported_at": NOW,
                      "workflow": "standard", "by": ADMIN}) + "\n")
        for o in range(orgs):
            w(json.dumps({"type": "org", "name": f"Org {o:05d}", "manager": None,
                          "created_at": _stamp(now - 800 * DAY)}) + "\n")
        w(json.dumps({"type": "user", "email": ADMIN, "name": "Bench Admin", "role": "admin",
                      "organization": None, "created_at": _stamp(now - 800 * DAY)}) + "\n")
        for a in range(AGENTS):
            w(json.dumps({"type": "user", "email": f"agent{a}@bench.example",
                          "name": f"Agent {a}", "role": "agent", "organization": None,
                          "created_at": _stamp(now - 800 * DAY)}) + "\n")
        for c in range(customers):
            w(json.dumps({"type": "user", "email": f"customer{c}@bench.example",
                          "name": f"Customer {c}", "role": "customer",
                          "organization": f"Org {c % orgs:05d}",
                          "created_at": _stamp(now - 800 * DAY)}) + "\n")
        for i in range(1, n + 1):
            # Stale tickets are spread evenly through the ids, like real ones.
            stale = i % stale_every == 3
            status = "solved" if stale else _pick(rng, STATUSES)
            if status == "solved" and not stale:
                status = "open" if rng.random() < 0.5 else "solved"
            created = now - 730 * DAY * (1 - i / (n + 1)) - rng.random() * DAY
            if stale:
                created = min(created, now - 20 * DAY - rng.random() * DAY)
                changed = min(created + rng.random() * 3 * DAY, now - 15 * DAY)
            elif status == "solved":
                changed = now - rng.random() * 10 * DAY  # solved recently: not stale yet
            else:
                changed = created + rng.random() * 5 * DAY
            changed = max(changed, created)
            title = " ".join(rng.choices(words, cum_weights=cum, k=rng.randint(4, 9)))
            body = rng.choices(words, cum_weights=cum, k=rng.randint(35, 75))
            if rng.random() < 0.85:
                body.insert(rng.randrange(len(body)), COMMON)
            if i in rare_ids:
                body.insert(rng.randrange(len(body)), RARE)
                data.rare += 1
            if i % 5000 == 17:
                body.insert(rng.randrange(len(body)), UNCOMMON)
                data.uncommon += 1
            description = " ".join(body).capitalize() + "."
            if COMMON in body:
                data.common += 1
            customer = rng.randrange(customers)
            assignee = (f"agent{rng.randrange(AGENTS)}@bench.example"
                        if status != "new" and rng.random() < 0.9 else None)
            priority = _pick(rng, PRIORITIES)
            category = rng.choice(CATEGORIES) if rng.random() < 0.7 else None
            comments: list[dict[str, Any]] = []
            if sla and i % 10 == 5:
                category = CONTRACT
                data.under_policy += 1
                if i % 100 == 5:  # open, answered at once, not solved in 40 business hours
                    status = "open"
                    created = min(created, now - 14 * DAY - rng.random() * DAY)
                    changed = created + 30
                    assignee = assignee or f"agent{i % AGENTS}@bench.example"
                    comments.append({"author": assignee, "body": "Looking into it.",
                                     "internal": False, "created_at": _stamp(created + 60)})
                    data.breaches += 1
                elif status != "closed":
                    status = "closed"
                    changed = created + rng.random() * 5 * DAY
            if now - 365 * DAY <= created < now:
                data.last_year += 1
            history: list[dict[str, Any]] = [
                {"at": _stamp(created), "actor": f"customer{customer}@bench.example",
                 "event": "opened", "from": None, "to": "new", "detail": {}}
            ]
            if status != "new":
                history.append({"at": _stamp(changed), "actor": assignee or ADMIN,
                                "event": "status", "from": "new", "to": status, "detail": {}})
            record = {
                "type": "ticket", "id": i, "title": title, "description": description,
                "status": status, "priority": priority,
                "category": category,
                "requester": f"customer{customer}@bench.example", "assignee": assignee,
                "organization": f"Org {customer % orgs:05d}", "resolution": None,
                "follow_up_of": None, "fields": {},
                "created_at": _stamp(created), "updated_at": _stamp(changed),
                "status_changed_at": _stamp(changed), "activity_at": _stamp(changed),
                "participants": [], "comments": comments, "attachments": [],
                "history": history,
            }
            w(json.dumps(record) + "\n")
            data.stale += stale
            data.by_status[status] = data.by_status.get(status, 0) + 1
            data.text_chars += len(title) + len(description)
    data.active = sum(v for k, v in data.by_status.items() if k != "closed")
    return data


def now_seconds() -> int:
    """The bench's now, in seconds since the epoch."""
    return calendar.timegm(time.strptime(NOW, "%Y-%m-%dT%H:%M:%SZ"))


def days_ago(days: int) -> str:
    """The date ``days`` before the bench's now (for the time filters of ``list``)."""
    return time.strftime("%Y-%m-%d", time.gmtime(now_seconds() - days * DAY))


def people_only(data: Dataset, path: Path) -> Path:
    """The file's header, organizations and people, without its tickets."""
    with open(data.path, "rb") as fh, open(path, "wb") as out:
        out.writelines(line for line in fh if not line.startswith(b'{"type": "ticket"'))
    return path
