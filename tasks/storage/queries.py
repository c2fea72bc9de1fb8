"""The questions every view asks of the ledger, each answered in one place.

Status, the console, reminders, emails, the report, the board and the open data ask these
named queries instead of writing their own SQL, so two views of the same fact cannot disagree.
The rules the answers follow (delivery, deadlines, the standing file) live in ``tasks.core``;
this module only reads the ledger for them.
"""

from __future__ import annotations
