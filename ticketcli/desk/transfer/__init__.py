"""Bulk import and export: move a desk in from another tool, and back out.

The exchange format is JSON Lines, one record a line (``export`` writes it and
``import`` reads it): a header, then organizations, then people, then one line
per ticket with its participants, comments, attachments and history. ``import``
also reads CSV with one ticket a row (the columns of ``list --format csv``,
plus ``description``, ``participants`` and ``field.KEY`` columns).

Import rules:

* all or nothing: every record is checked; if any line is bad, every bad line
  is reported with its number and *nothing* is imported, so a script can fix
  the file and run it again with no half-imported state to clean up. The
  whole import is one transaction, so a crash leaves nothing behind either;
* ticket numbers are kept, so export -> import round-trips; a number already in
  use is a bad line, unless ``new_ids`` numbers the imported tickets afresh
  (``follow_up_of`` then follows the renumbering; other numbers inside history
  details are kept as they were);
* statuses, priorities and resolutions must exist in the stored workflow; the
  phase always comes from the workflow;
* people are matched by email. Someone unknown (requester, participant, comment
  author) is added as a customer when the workflow accepts unregistered
  requesters, else the line is bad. An assignee must be an agent or admin that
  exists or comes in a people record earlier in the file. People and
  organizations already in the database are never changed;
* a ticket without a ``history`` list gets one ``imported`` history row, and
  nothing imported sends mail: history rows are written directly, not through
  the event seam.

The modules, in the order a line goes through them: :mod:`.read` (JSONL and
CSV into records, with line numbers), :mod:`.checks` (each record checked and
normalized against the workflow), :mod:`.load` (people, numbers and rows, into
one transaction through :mod:`ticketcli.store.bulk.session`); and :mod:`.export`.
:mod:`.records` holds the format's constants and the checked records.
"""

from __future__ import annotations

from .checks import Checker
from .export import bundle_record, export_records, write_jsonl
from .load import import_records, import_stream
from .read import checked_records, detect_format
from .records import FORMAT_VERSION, FORMATS, HEADER_TYPE, ImportReport, LineError

__all__ = [
    "FORMATS",
    "FORMAT_VERSION",
    "HEADER_TYPE",
    "Checker",
    "ImportReport",
    "LineError",
    "bundle_record",
    "checked_records",
    "detect_format",
    "export_records",
    "import_records",
    "import_stream",
    "write_jsonl",
]
