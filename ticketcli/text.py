"""Short one-line texts people give: titles, categories, free-form resolutions."""

from __future__ import annotations

import re

from .errors import UsageError

# C0 and C1 control characters (line breaks and tabs among them): the one definition.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]").search


def one_line(value: str, what: str, limit: int) -> str:
    """``value`` on one line, its runs of spaces, tabs and line breaks folded into one
    space ('' when blank); a usage error for other control characters, or when it is
    longer than ``limit``. ``what`` names it in the message ("a title")."""
    clean = " ".join(value.split())
    if CONTROL(clean):
        raise UsageError(f"{what} cannot contain control characters")
    if len(clean) > limit:
        raise UsageError(f"{what} is at most {limit} characters (got {len(clean)})")
    return clean
