# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Undo a sync run: read the JSON report of an applied run, and plan its reversal against Coconut as it is now.

Three-way, per field of each change: the run's `before`, the run's `after`, and the value now. A field that still
holds the run's `after` goes back to `before`; one that already holds `before` needs nothing; any other value was
changed since the run (by hand or by a later run) and is left as it is, and listed. A staff member the run created is
archived (never deleted), unless any field differs from what the run created: then it is listed instead.

The reversal is a Plan of the shape reconcile.plan makes (docs/architecture.md), so check mode, the diff, the report
and apply_plan take it unchanged. Everything here is pure except read_report(), which reads the one file.
"""

from __future__ import annotations

import json
from pathlib import Path

from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.reconcile import _same, archive_allowance, is_synced, normalise, too_many_archives
from ansible_collections.coconut.entra.plugins.module_utils.rules import ACTIONS
from ansible_collections.coconut.entra.plugins.module_utils.safe_text import full_name

# Report format 2 is the first that records the Coconut id of each created staff member (report.FORMAT_VERSION).
FIRST_UNDOABLE_FORMAT = 2
LAST_KNOWN_FORMAT = 2
LEFT_AS_IS = "changed since the run: left as it is"


def _refuse(path, problem, fix):
    return CoconutEntraError(f"coconut_undo_report {path} {problem}; nothing was written. {fix}", undo_report=str(path))


def read_report(path):
    """The report's data (a dict), or a CoconutEntraError naming the file and the fix. The only I/O in this file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise _refuse(path, f"cannot be read ({error.__class__.__name__}: {getattr(error, 'strerror', None) or error})",
                      "Pass the JSON report an applied sync.yml wrote (coconut_sync_report: the .json beside its HTML page).") from None
    try:
        return json.loads(text)
    except ValueError as error:
        beside = Path(path).with_suffix(".json")
        if Path(path).suffix.lower() in (".html", ".htm", ".md") and beside.is_file():
            fix = f"That is the report's page for people; undo reads the JSON beside it: coconut_undo_report={beside}"
        else:
            fix = "Pass the JSON report an applied sync.yml wrote (coconut_sync_report: the .json beside its HTML page)."
        raise _refuse(path, f"is not a sync report: it is not JSON ({error})", fix) from None


def site_key(url):
    """A site URL as compared: no surrounding space, no trailing slash, case-folded (hosts and schemes ignore case)."""
    return str(url or "").strip().rstrip("/").lower()


def check_report(data, path, coconut_url):
    """Raise, naming the file and the fix, unless `data` is the report of an applied run on `coconut_url` that undo can
    read. Nothing has been read from or written to Coconut at this point."""
    not_a_report = "Pass the JSON report an applied sync.yml wrote (coconut_sync_report: the .json beside its HTML page)."
    if not isinstance(data, dict) or not {"format_version", "mode", "site", "changes"} <= set(data):
        raise _refuse(path, "is not a sync report: it lacks the report's keys (format_version, mode, site, changes)", not_a_report)
    version = data["format_version"]
    if isinstance(version, bool) or not isinstance(version, int):
        raise _refuse(path, f"is not a sync report: format_version is {version!r}", not_a_report)
    if version < FIRST_UNDOABLE_FORMAT:
        raise _refuse(path, f"is a report of format {version}, written by an older coconut.entra that did not record the "
                            "Coconut ids of the staff a run created, so that run cannot be undone safely",
                      "Undo reads reports written by this version of the collection onwards; put that run right with sync.yml "
                      "and a corrected mapping, checked first with --check --diff.")
    if version > LAST_KNOWN_FORMAT:
        raise _refuse(path, f"is a report of format {version}, newer than this coconut.entra understands ({LAST_KNOWN_FORMAT})",
                      "Run undo.yml from the collection version that wrote the report, or a later one.")
    if data["mode"] != "apply":
        raise _refuse(path, f"is the report of a check-mode run (mode: {data['mode']!r}), which wrote nothing, so there is "
                            "nothing to undo", "Pass the report of the applied run (sync.yml without --check).")
    if site_key(data["site"]) != site_key(coconut_url):
        raise _refuse(path, f"is a report of the site {data['site']}, but coconut_url is {coconut_url}",
                      "Undo a run on the site it ran on: set coconut_url (and its API token) to that site, or pass this "
                      "site's report.")
    if not isinstance(data.get("run_id"), str) or not data["run_id"]:
        raise _refuse(path, "has no run_id", not_a_report)
    changes = data["changes"]
    if not isinstance(changes, list):
        raise _refuse(path, "is not a sync report: changes is not a list", not_a_report)
    for number, change in enumerate(changes):
        where = f"changes[{number}]"
        if not isinstance(change, dict) or change.get("action") not in ACTIONS:
            raise _refuse(path, f"is not a sync report: {where} is not a change (create, update, restore or archive)", not_a_report)
        if not isinstance(change.get("before"), dict) or not isinstance(change.get("after"), dict):
            raise _refuse(path, f"is not a sync report: {where} lacks its before and after", not_a_report)
        if change.get("id") in (None, ""):
            raise _refuse(path, f"records no Coconut staff id for {where} ({change['action']} {change.get('display_name')!r})",
                          "Undo needs every changed staff member's id; pass the unedited report of the applied run.")
    return data


def _same_value(name, left, right):
    """Equal as the sync compares a field (locations as sets, ids as text); the Entra mark by its Entra object id."""
    if name == "integration":
        synced_left, synced_right = is_synced({"integration": left}), is_synced({"integration": right})
        if synced_left or synced_right:
            return synced_left and synced_right and normalise(left.get("object_id")) == normalise(right.get("object_id"))
        return (left or None) == (right or None)
    if left is None or right is None:
        return left is None and right is None
    return _same(name, left, right)


def _who(change, member):
    name = full_name(member)
    return {"id": str(change["id"]), "object_id": change.get("object_id"), "display_name": change.get("display_name") or name or None,
            "email": member.get("email") or change.get("email")}


def _reason(change):
    if change["action"] == "create":
        return "created by the undone run: archived (never deleted)"
    if change["action"] == "archive":
        return "archived by the undone run: restored"
    if change["action"] == "restore":
        return "restored by the undone run: archived again, its fields back as they were"
    if change.get("adopt"):
        return "adopted by the undone run: fields back as they were, and unsynced again (its Entra mark removed)"
    return "updated by the undone run: fields back as they were"


def _reverse_create(change, member, plan, left):
    if member.get("status") == "archived":
        return False  # archived already (by a second undo, or by hand): what undo would do
    differing = [{"field": name, "run_after": value, "now": member.get(name)}
                 for name, value in sorted(change["after"].items()) if not _same_value(name, value, member.get(name))]
    if differing:
        left.append(dict(_who(change, member), action="create", fields=differing,
                         why=LEFT_AS_IS + ": created by the undone run and changed since, so not archived"))
        return False
    plan["archive"].append(dict(_who(change, member), reason="undo", undo=_reason(change),
                                before={"status": member.get("status", "active")}, after={"status": "archived"}))
    return True


def _reverse_fields(change, member, plan, left):
    """Each field back to the run's `before` where it still holds the run's `after`; the rest listed."""
    back_before, back_after, differing = {}, {}, []
    before, after = change["before"], change["after"]
    for name in sorted(after):
        now, was = member.get(name), before.get(name)
        if _same_value(name, now, after[name]):
            if not _same_value(name, now, was):
                back_before[name], back_after[name] = now, was
        elif not _same_value(name, now, was):
            differing.append({"field": name, "run_before": was, "run_after": after[name], "now": now})
    if differing:
        left.append(dict(_who(change, member), action=change["action"], fields=differing, why=LEFT_AS_IS))
    if not back_after:
        return False
    who = _who(change, member)
    status = back_after.get("status")
    if status == "archived":
        # Archiving again is an archive (the threshold counts it); any other field goes back in an update first.
        status_before = back_before.pop("status")
        back_after.pop("status")
        plan["archive"].append(dict(who, reason="undo", undo=_reason(change), before={"status": status_before},
                                    after={"status": "archived"}))
    if back_after:
        plan["update"].append(dict(who, rule="undo", adopt=False, restore=status == "active", undo=_reason(change),
                                   before=back_before, after=back_after))
    return True


def undo_plan(report, staff_now, *, archive_threshold="10%", force_archive=False):
    """The Plan that reverses the applied run `report` (checked by check_report) on `staff_now` (Coconut's staff now).

    Besides the Plan's keys: `left_as_is` (what was changed since the run, per staff member and field) and `undoes`
    (the undone run's id). Raises CoconutEntraError when the reversal would archive more than `archive_threshold`
    allows (unless `force_archive`), before any write, in check mode too.
    """
    by_id = {str(member["id"]): member for member in staff_now}
    plan = {"create": [], "update": [], "archive": [], "conflicts": [], "possible_duplicates": [], "skipped": [],
            "left_as_is": [], "undoes": report.get("run_id")}
    unchanged = 0
    for change in report["changes"]:
        member = by_id.get(str(change["id"]))
        if member is None:
            plan["left_as_is"].append(dict(_who(change, {}), action=change["action"], fields=[],
                                           why="no longer in Coconut (no staff member has this id): left as it is"))
            continue
        if change["action"] == "create":
            acted = _reverse_create(change, member, plan, plan["left_as_is"])
        else:
            acted = _reverse_fields(change, member, plan, plan["left_as_is"])
        unchanged += not acted
    restores = sum(1 for item in plan["update"] if item["restore"])
    plan["counts"] = {"create": 0, "update": len(plan["update"]) - restores, "archive": len(plan["archive"]), "restore": restores,
                      "adopt": 0, "unchanged": unchanged, "conflict": 0, "possible_duplicate": 0, "skipped": 0,
                      "left_as_is": len(plan["left_as_is"])}
    if not force_archive:
        synced_active = sum(1 for member in staff_now if is_synced(member) and member.get("status", "active") != "archived")
        _check_archives(plan["archive"], archive_threshold, synced_active)
    return plan


def _check_archives(archives, threshold, synced_active):
    """The sync's archive threshold, applied to the undo: a mass archive needs coconut_force_archive."""
    allowed = archive_allowance(threshold, synced_active)
    if len(archives) <= allowed:
        return
    raise too_many_archives("the undo", archives, threshold, allowed, synced_active,
                            "Check that this is the run to undo first (--check --diff)")


def _text(value):
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if not isinstance(value, str) else value


def left_as_is_lines(left):
    """One line per staff member left as it is, naming each field: what the run set, and what it holds now."""
    lines = []
    for item in left:
        who = item.get("display_name") or "(no name)"
        if item.get("email"):
            who += f" <{item['email']}>"
        who += f", staff {item['id']}"
        fields = "; ".join(f"{f['field']} is now {_text(f['now'])} (the run set {_text(f['run_after'])})" for f in item["fields"])
        why = "" if item["why"] == LEFT_AS_IS else item["why"]  # the heading of the list says that much already
        lines.append(f"{item['action']} {who}: " + "; ".join(part for part in (why, fields) if part))
    return lines
