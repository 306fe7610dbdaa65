# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Times as Graph, Coconut and the site lease write them: UTC, 'YYYY-MM-DDTHH:MM:SSZ'. Pure."""

from __future__ import annotations

import datetime

# datetime.timezone.utc, not datetime.UTC: ansible-core 2.16 and 2.17 run modules on Python 3.10, which lacks it.
UTC = datetime.timezone.utc


def utcnow():
    return datetime.datetime.now(UTC)


def parse_datetime(value):
    """A Graph date-time ('2027-05-01T00:00:00Z', with or without fractions) as an aware datetime, or None."""
    if not value:
        return None
    text = str(value).strip().replace("Z", "+00:00")
    if "." in text:  # Graph sends 7 fractional digits; fromisoformat accepts at most 6 before 3.11 patch levels
        head, _dot, rest = text.partition(".")
        digits = "".join(c for c in rest if c.isdigit())
        zone = rest[len(digits):]
        text = "{}.{}{}".format(head, digits[:6].ljust(6, "0"), zone)
    parsed = datetime.datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_datetime(value):
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def isoformat(moment=None):
    """A time as the report and the EDA source's events show it: ISO 8601 to the second with its offset
    ('2026-11-27T07:30:00+00:00'); now when None, a naive datetime taken as UTC, anything else as its text."""
    if moment is None:
        moment = utcnow()
    if isinstance(moment, datetime.datetime):
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.isoformat(timespec="seconds")
    return str(moment)
