# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn a plan into what a person reads: a list of changes, and Ansible's --diff output."""

from __future__ import annotations

import json

from ansible_collections.coconut.entra.plugins.module_utils.rules import ACTIONS
from ansible_collections.coconut.entra.plugins.module_utils.safe_text import full_name, shown
from ansible_collections.coconut.entra.plugins.module_utils.staff_view import role_label

RULE_NAMES = {"name_and_email": "rule A: same first name, last name and email",
              "display_name": "rule B: \"first last\" equals the display name"}


def restore_reason(group):
    """Why a synced staff member archived in Coconut is restored. The plan cannot tell an archive made by hand from one
    made by an earlier run when the user was out of scope (Coconut keeps no "archived by"), so this says only what is
    known: archived in Coconut, a member of a selected group now; and the way to keep someone archived."""
    where = "a member of %s in Entra" % shown(group) if group else "in a selected Entra group"
    return "archived in Coconut but %s, so restored; to archive them, remove them from the group in Entra" % where


def _label(display_name, email, staff_id=None):
    who = shown(display_name) or "(no name)"
    if email:
        who = "%s <%s>" % (who, shown(email))
    if staff_id is not None:
        who = "%s, staff %s" % (who, staff_id)
    return who


# Text that would read like null or a boolean: quoted, so the text "None" and null look different.
_LOOKS_LIKE_A_LITERAL = frozenset(("none", "null", "true", "false", "~"))


def _value(value):
    """One line per value: strings as they are (quoted when padded, empty or literal-like), anything else as
    compact JSON; control characters escaped."""
    if isinstance(value, str):
        quote = value != value.strip() or value == "" or value.lower() in _LOOKS_LIKE_A_LITERAL
        return shown(json.dumps(value, ensure_ascii=False) if quote else value)
    return shown(json.dumps(value, ensure_ascii=False, sort_keys=True))


def user_group_label(value, names=None):
    """A staff group as people know it: its name (and id), or the name of one this run creates."""
    if isinstance(value, str) and value.startswith("new:"):
        return "%s (new staff group)" % value[4:]
    if value is not None and names and str(value) in names:
        return "%s (%s)" % (names[str(value)], value)
    return value


def _block(fields, names=None):
    shown = dict(fields)
    if "user_group_id" in shown:
        shown["user_group_id"] = user_group_label(shown["user_group_id"], names)
    if shown.get("role") is not None:
        shown["role"] = role_label(shown["role"])
    return "".join("%s: %s\n" % (name, _value(shown[name])) for name in sorted(shown))


def plan_changes(plan, staff_by_id=None):
    """The plan's writes as a flat list, each identifiable by name and email."""
    staff_by_id = staff_by_id or {}
    changes = []
    for item in plan.get("create", []):
        fields = item["fields"]
        changes.append({
            "action": "create",
            "id": None,
            "object_id": item["object_id"],
            "display_name": item.get("display_name"),
            "email": fields.get("email"),
            "before": {},
            "after": dict(fields),
        })
    for item in plan.get("update", []):
        staff = staff_by_id.get(item["id"], {})
        action = "restore" if item.get("restore") else "update"
        changes.append({
            "action": action,
            "id": item["id"],
            "object_id": item.get("object_id"),
            "display_name": item.get("display_name"),
            "email": item["after"].get("email", staff.get("email")),
            "rule": item.get("rule"),
            "adopt": bool(item.get("adopt")),
            "before": dict(item["before"]),
            "after": dict(item["after"]),
        })
        if action == "restore" and not item.get("adopt") and not item.get("undo"):
            changes[-1]["reason"] = restore_reason(item.get("group"))
        _keep_undo_reason(changes[-1], item)
    for item in plan.get("archive", []):
        staff = staff_by_id.get(item["id"], {})
        changes.append({
            "action": "archive",
            "id": item["id"],
            "object_id": item.get("object_id"),
            "display_name": item.get("display_name") or _staff_name(staff),
            "email": staff.get("email"),
            "reason": item.get("reason"),
            "before": dict(item.get("before", {"status": "active"})),
            "after": dict(item.get("after", {"status": "archived"})),
        })
        _keep_undo_reason(changes[-1], item)
    return changes


def _keep_undo_reason(change, item):
    """An undo's change says which change of the undone run it reverses (module_utils/undo.py sets it)."""
    if item.get("undo"):
        change["undo"] = item["undo"]


def _staff_name(staff):
    return full_name(staff) or None


def summary_line(counts):
    parts = ["%d %s" % (counts.get(key, 0), key) for key in ACTIONS]
    extra = ["%d %s" % (counts.get(key, 0), label) for key, label in (
        ("conflict", "conflicts"), ("possible_duplicate", "possible duplicates"), ("skipped", "skipped"))
        if counts.get(key)]
    return "coconut.entra plan: " + ", ".join(parts + extra) + "; %d unchanged" % counts.get("unchanged", 0)


def render_diff(changes, counts, max_entries=50, user_group_names=None):
    """Ansible's diff list: a summary, then one entry per staff member with only the changing fields.

    `user_group_names` ({id: name}) shows staff groups by name."""
    diffs = [{"prepared": summary_line(counts) + "\n"}]
    for change in changes[:max_entries]:
        action = "adopt (%s)" % RULE_NAMES.get(change.get("rule"), change.get("rule")) if change.get("adopt") else change["action"]
        header = "%s %s" % (action, _label(change["display_name"], change["email"], change["id"]))
        diffs.append({
            "before_header": header,
            "after_header": header + (": " + change["reason"] if change["action"] == "restore" and change.get("reason") else ""),
            "before": _block(change["before"], user_group_names),
            "after": _block(change["after"], user_group_names),
        })
    hidden = len(changes) - max_entries
    if hidden > 0:
        diffs.append({"prepared": "... and %d more changes not shown (coconut_diff_max_entries: %d; the report lists them all)\n"
                      % (hidden, max_entries)})
    return diffs
