# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Users tab as people see it: one row per staff member with its synced mark, and the duplicate sets.

Pure: staff records in (the shape of docs/architecture.md), plain dicts out.
"""

from __future__ import annotations

from ansible_collections.coconut.entra.plugins.module_utils.reconcile import is_synced, normalise
from ansible_collections.coconut.entra.plugins.module_utils.roles import ROLE_NAMES
from ansible_collections.coconut.entra.plugins.module_utils.safe_text import full_name

ROW_FIELDS = ("id", "first_name", "last_name", "email", "job_title", "role", "status", "locations", "user_group_id")


def staff_row(staff):
    """One Users tab row: the staff fields people read, `synced`, and the stored Entra object id."""
    row = {name: staff.get(name) for name in ROW_FIELDS}
    row["locations"] = list(staff.get("locations") or [])
    row["synced"] = is_synced(staff)
    row["object_id"] = (staff.get("integration") or {}).get("object_id") if row["synced"] else None
    return row


def role_label(value):
    """A role code as people know it: "Staff Plus (13)"; anything unknown as it is."""
    try:
        code = int(value)
    except (TypeError, ValueError):
        return value
    return "%s (%d)" % (ROLE_NAMES[code], code) if code in ROLE_NAMES else value


def _id_order(staff_id):
    """Numeric ids in numeric order ("9" before "10"), anything else after them, as text."""
    text = "" if staff_id is None else str(staff_id)
    return (0, int(text), "") if text.isdigit() else (1, 0, text)


def duplicate_sets(staff):
    """Sets of two or more staff sharing a normalised email, or a normalised "first last" name.

    Active and archived staff both count: an archived duplicate still confuses people and
    reappears on restore. Empty emails and empty names never form a set. Each set:
    `{"key": "email"|"name", "value": <normalised>, "members": [ids], "synced": [synced ids],
    "names": [the members' "First Last", in the order of members]}`; sets are ordered by key
    (email first) then value, members by id. Linear in the number of staff.
    """
    groups = {}
    for record in staff:
        email = normalise(record.get("email") or "")
        if email:
            groups.setdefault(("email", email), []).append(record)
        name = normalise(full_name(record))
        if name:
            groups.setdefault(("name", name), []).append(record)
    sets = []
    for (key, value), members in groups.items():
        if len(members) < 2:
            continue
        members = sorted(members, key=lambda record: _id_order(record.get("id")))
        sets.append({
            "key": key,
            "value": value,
            "members": [record.get("id") for record in members],
            "synced": [record.get("id") for record in members if is_synced(record)],
            "names": [full_name(record) for record in members],
        })
    sets.sort(key=lambda item: (item["key"] != "email", item["value"]))
    return sets


def duplicate_ids(sets):
    """Ids of every staff member in at least one duplicate set."""
    return {member for item in sets for member in item["members"]}
