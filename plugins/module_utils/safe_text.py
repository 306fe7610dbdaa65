# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Text from Entra, Graph or Coconut made safe to show: no terminal control, no token.

- shown(): control characters (C0, DEL, C1, so ANSI escape sequences lose their ESC / CSI), Unicode
  bidirectional overrides and line/paragraph separators become visible escapes (\\n, \\x1b, \\u202e), so a
  display name cannot print a fake line, colour the terminal, hide what follows or reorder the text.
- redacted(): `Bearer <token>` and anything JWT-shaped (eyJ... . ... . ...) become `[redacted]`, for every
  message built from a server's answer (an error body may echo the request's Authorization header).
"""

from __future__ import annotations

import re

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_BEARER = re.compile(r"(?i)\bBearer\s+[^\s\"',;]+")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
REDACTED = "[redacted]"


def _escape(match):
    char = match.group(0)
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return "\\x%02x" % code if code < 0x100 else "\\u%04x" % code


def shown(value, keep=""):
    """`value` with control and bidi characters escaped (but those in `keep`, such as the line breaks of a message
    we wrote ourselves); anything that is not a string is returned as it is."""
    if not isinstance(value, str):
        return value
    if keep:
        return _CONTROL.sub(lambda match: match.group(0) if match.group(0) in keep else _escape(match), value)
    return _CONTROL.sub(_escape, value)


def redacted(value):
    """`value` with bearer tokens and JWT-shaped strings replaced by [redacted]; non-strings as they are."""
    if not isinstance(value, str):
        return value
    return _JWT.sub(REDACTED, _BEARER.sub("Bearer " + REDACTED, value))


def full_name(staff):
    """A staff member's "First Last" as people read it (a staff record, attributes or a Users tab row): the one place
    the two are joined. Blank parts are left out, so it is "" when both are."""
    parts = (staff.get("first_name"), staff.get("last_name"))
    return " ".join(text for text in ("" if part is None else str(part) for part in parts) if text.strip())


def from_server(value):
    """Text taken from a server's answer, fit for a message: redacted and shown."""
    return shown(redacted(value))
