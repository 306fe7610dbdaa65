# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sync report: what a run did (or, in check mode, would do), as HTML, JSON and Markdown.

`build_report_data()` turns a plan and the staff around it into plain JSON-serialisable data;
`write_report()` writes that data three ways next to each other:

    PATH                              the self-contained HTML page (inline CSS and JS, opens offline)
    Path(PATH).with_suffix(".json")   the same data as JSON   (report.html -> report.json)
    Path(PATH).with_suffix(".md")     a short Markdown summary for a merge-request comment

The HTML template lives in this file on purpose: a module_utils file cannot ship package data.
"""

from __future__ import annotations

import datetime
import json
import re
import traceback
from pathlib import Path

try:
    import jinja2
    from markupsafe import Markup

    HAS_JINJA2 = True
    JINJA2_IMPORT_ERROR = None
except ImportError:
    HAS_JINJA2 = False
    JINJA2_IMPORT_ERROR = traceback.format_exc()

from ansible_collections.coconut.entra.plugins.module_utils.diff import plan_changes, user_group_label
from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.files import write_atomically
from ansible_collections.coconut.entra.plugins.module_utils.reconcile import apply_to_records, is_synced
from ansible_collections.coconut.entra.plugins.module_utils.rules import ACTIONS
from ansible_collections.coconut.entra.plugins.module_utils.safe_text import shown
from ansible_collections.coconut.entra.plugins.module_utils.staff_view import duplicate_sets, full_name, role_label, staff_row
from ansible_collections.coconut.entra.plugins.module_utils.times import isoformat

# 2: an applied run's report carries its run id and the Coconut id of every staff member it created (undo reads them).
FORMAT_VERSION = 2
MARKDOWN_MAX_CHANGES = 20
NOTHING_TO_UNDO = "Nothing to undo: every change of the undone run is undone already, or was changed since (listed below)."
# An option whose name contains one of these never reaches a report, whatever its value.
SECRET_WORDS = ("secret", "token", "key", "password", "certificate", "credential")

ACTION_LABELS = {"create": "Created", "update": "Updated", "restore": "Restored", "archive": "Archived"}
COUNT_LABELS = tuple((action, ACTION_LABELS[action]) for action in ACTIONS) + (
    ("adopt", "Adopted"), ("unchanged", "Unchanged"), ("conflict", "Conflicts"),
    ("possible_duplicate", "Possible duplicates"), ("skipped", "Skipped"),
)
FIELD_LABELS = {
    "first_name": "First name", "last_name": "Last name", "email": "Email", "username": "Username",
    "external_id": "External id", "job_title": "Job title", "language": "Language", "role": "Role",
    "locations": "Locations", "user_group_id": "Staff group", "status": "Status", "integration": "Synced",
}
FIELD_ORDER = {name: index for index, name in enumerate(FIELD_LABELS)}
RULES = {
    "object_id": "its stored Entra object id",
    "name_and_email": "rule A: same first name, last name and email",
    "display_name": "rule B: \"First Last\" equals the Entra display name",
}
ARCHIVE_REASONS = {
    "out_of_scope": "no longer in scope: removed from every selected group, disabled or deleted in Entra",
    "unsynced_duplicate": "unsynced duplicate of a synced staff member (coconut_archive_unsynced_duplicates)",
}
DUPLICATE_REASONS = {"email": "the email", "name": "the first and last name"}


# ---------------------------------------------------------------------------------------------
# Data


def public_options(options):
    """The run's options minus anything that could be a credential (by name), JSON-safe."""
    if isinstance(options, dict):
        return {str(name): public_options(value) for name, value in options.items()
                if not any(word in str(name).lower() for word in SECRET_WORDS)}
    if isinstance(options, (list, tuple)):
        return [public_options(value) for value in options]
    if options is None or isinstance(options, (str, int, float, bool)):
        return options
    return str(options)


def _why(change):
    action = change["action"]
    if change.get("undo"):
        return change["undo"]  # an undo run's change: what of the undone run it reverses
    if action == "create":
        return "matched no staff member: created as synced"
    if action == "archive":
        return ARCHIVE_REASONS.get(change.get("reason"), change.get("reason") or "archived")
    rule = RULES.get(change.get("rule"), change.get("rule") or "its stored Entra object id")
    if change.get("adopt"):
        return f"adopted: unsynced staff member matched by {rule}"
    if action == "restore":
        return change.get("reason") or f"restored (matched by {rule})"
    return f"matched by {rule}"


def _field_changes(before, after, user_group_names=None):
    names = sorted(set(before) | set(after), key=lambda name: (FIELD_ORDER.get(name, len(FIELD_ORDER)), name))
    fields = [{"name": name, "label": FIELD_LABELS.get(name, name), "before": before.get(name), "after": after.get(name)}
              for name in names]
    for field in fields:
        if field["name"] == "user_group_id":  # by name, not by id
            field["before"] = user_group_label(field["before"], user_group_names)
            field["after"] = user_group_label(field["after"], user_group_names)
    return fields


def _changes(plan, staff_by_id, user_group_names=None):
    changes = []
    for change in plan_changes(plan, staff_by_id):
        change = dict(change)
        if change["action"] == "update" and change.get("adopt"):
            change["label"] = "adopt"
        else:
            change["label"] = change["action"]
        change["why"] = _why(change)
        change["fields"] = _field_changes(change.get("before") or {}, change.get("after") or {}, user_group_names)
        changes.append(change)
    return changes


def _candidate_rows(ids, staff_by_id):
    rows = []
    for staff_id in ids:
        record = staff_by_id.get(staff_id)
        rows.append(staff_row(record) if record else {"id": staff_id, "missing": True})
    return rows


def _cases(items, staff_by_id, explain):
    cases = []
    for item in items:
        case = dict(item)
        case["why"] = explain(item)
        case["candidates"] = _candidate_rows(item.get("candidates", []), staff_by_id)
        cases.append(case)
    return cases


def _conflict_why(item):
    rule = RULES.get(item.get("rule"), item.get("rule") or "a matching rule")
    if item.get("shared_with"):
        return f"this staff member also matches {len(item['shared_with'])} other Entra user(s) by {rule}; nothing was written for them"
    return f"several staff match by {rule}; nothing was written for this user"


def _duplicate_why(item):
    shared = DUPLICATE_REASONS.get(item.get("reason"), item.get("reason") or "details")
    outcome = "created anyway (coconut_possible_duplicates: create)" if item.get("created") else "not created"
    if item.get("entra_users"):
        others = ", ".join(str(user.get("display_name") or user.get("object_id")) for user in item["entra_users"])
        return f"other Entra users in scope have the same email ({others}); {outcome}"
    return f"no rule matched, but unsynced staff share {shared}; {outcome}"


def _users_tab(staff_after, changes):
    """The Users tab after the run: staff rows with `duplicate`, `duplicate_with` and this run's `change`."""
    sets = duplicate_sets(staff_after)
    others = {}
    for item in sets:
        for member in item["members"]:
            others.setdefault(member, set()).update(m for m in item["members"] if m != member)
    by_id = {c["id"]: c["label"] for c in changes if c["id"] is not None}
    created = {c["object_id"]: "create" for c in changes if c["action"] == "create"}
    rows = []
    for record in staff_after:
        row = staff_row(record)
        row["duplicate_with"] = sorted(others.get(row["id"], ()), key=str)
        row["duplicate"] = bool(row["duplicate_with"])
        row["change"] = by_id.get(row["id"]) or (created.get(row["object_id"]) if row["synced"] else None)
        row["role_label"] = role_label(row["role"])
        rows.append(row)
    rows.sort(key=lambda row: ((row["last_name"] or "").casefold(), (row["first_name"] or "").casefold(), str(row["id"])))
    counts = {
        "total": len(rows),
        "synced": sum(1 for row in rows if row["synced"]),
        "unsynced": sum(1 for row in rows if not row["synced"]),
        "active": sum(1 for row in rows if row["status"] == "active"),
        "archived": sum(1 for row in rows if row["status"] == "archived"),
        "duplicates": sum(1 for row in rows if row["duplicate"]),
        "duplicate_sets": len(sets),
    }
    return rows, sets, counts


def _record_applied_ids(changes, applied):
    """Created staff get the ids Coconut gave them, and "new:<name>" staff groups the ids they were made with."""
    made = {item.get("object_id"): item.get("id") for item in applied.get("created") or []}
    # A create that found its staff already there (409, another run made it) updated that one instead.
    made.update({item.get("object_id"): item.get("id") for item in applied.get("updated") or [] if item.get("converged")})
    groups = {"new:" + str(group.get("name")): group.get("id") for group in applied.get("user_groups_created") or []}
    for change in changes:
        if change["action"] == "create" and change["id"] is None:
            change["id"] = made.get(change["object_id"])
        for side in ("before", "after"):
            value = (change.get(side) or {}).get("user_group_id")
            if isinstance(value, str) and value in groups:
                change[side]["user_group_id"] = groups[value]


def build_report_data(*, site, groups, check_mode, plan, staff_before, staff_after=None, generated_at, options,
                      user_group_names=None, run_id=None, applied=None, undo=None, integration=None):
    """Everything the report shows, as plain JSON-serialisable data.

    `staff_after` is Coconut's staff after a real run; left out (check mode), it is predicted
    from the plan (reconcile.apply_to_records: staff to be created get the ids new-1, new-2, ...).
    `generated_at` is a datetime (naive means UTC), an ISO string, or None for now.
    Options whose name hints at a credential are dropped (see SECRET_WORDS).
    `user_group_names` ({id: name}) shows staff groups in the changes by name.
    `applied` (apply_plan's result) gives each create its Coconut id and each new staff group its id, so that the
    JSON holds what undo needs; `undo` (an undo run's own facts: the run it undoes, what it left as it is) is kept as is.
    `integration` is one line on Coconut's integration record as the run found it (outcome.describe), or None.
    """
    staff_by_id = {record["id"]: record for record in staff_before}
    if staff_after is None:
        staff_after = apply_to_records(staff_before, plan)
    changes = _changes(plan, staff_by_id, user_group_names)
    if applied:
        _record_applied_ids(changes, applied)
    users, sets, users_counts = _users_tab(staff_after, changes)
    counts = {key: 0 for key, _label in COUNT_LABELS}
    counts.update(plan.get("counts") or {})
    data = {
        "format_version": FORMAT_VERSION,
        "generated_at": isoformat(generated_at),
        "run_id": run_id,
        "site": site,
        "groups": [dict(group) for group in groups or []],
        "mode": "check" if check_mode else "apply",
        "options": public_options(options or {}),
        "counts": counts,
        "changes": changes,
        "conflicts": _cases(plan.get("conflicts", []), staff_by_id, _conflict_why),
        "possible_duplicates": _cases(plan.get("possible_duplicates", []), staff_by_id, _duplicate_why),
        "skipped": [dict(item) for item in plan.get("skipped", [])],
        "users": users,
        "users_counts": users_counts,
        "duplicate_sets": sets,
    }
    if undo is not None:
        data["undo"] = undo
    if integration:
        data["integration"] = integration
    # One round trip through JSON: what the JSON file holds is exactly this data.
    return json.loads(json.dumps(data, default=str))


# ---------------------------------------------------------------------------------------------
# Rendering


def format_value(value, field=None):
    """A field value as one line of text for people: empty shown as such, lists joined, synced mark spelled out."""
    if field == "integration" and value is None:
        return "– not synced"
    if value is None or value == "" or value == []:
        return "(empty)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if field == "role":
        value = role_label(value)
    if isinstance(value, list):
        return ", ".join(format_value(item) for item in value)
    if isinstance(value, dict):
        if is_synced({"integration": value}):
            return "✓ synced"
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = str(value)
    if text != text.strip() or "  " in text:
        return json.dumps(text, ensure_ascii=False)  # quotes make stray spaces visible
    return text


def _script_json(value):
    """JSON that is safe inside a <script> element: no `<`, `>` or `&` can end it or open a comment."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _readable_time(iso):
    try:
        moment = datetime.datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return iso
    text = moment.strftime("%Y-%m-%d %H:%M")
    offset = moment.utcoffset()
    if offset is None or offset == datetime.timedelta(0):
        return text + " UTC"
    return text + moment.strftime(" %z")


def _safe_href(url):
    text = str(url or "")
    return text if text.lower().startswith(("https://", "http://")) else None


def _require_jinja2():
    if not HAS_JINJA2:
        raise CoconutEntraError("writing the sync report needs the Python library jinja2 on the managed host: pip install jinja2",
                                exception=JINJA2_IMPORT_ERROR)


def render_html(data):
    """The self-contained HTML page. Every value is escaped by Jinja2's autoescape; the JS reads its data as JSON."""
    _require_jinja2()
    environment = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    environment.filters["v"] = format_value
    environment.filters["when"] = _readable_time
    environment.filters["n"] = "{:,}".format
    environment.filters["full_name"] = full_name
    template = environment.from_string(HTML_TEMPLATE)
    page_data = {"users": data["users"], "users_counts": data["users_counts"]}
    return template.render(
        d=data,
        count_labels=COUNT_LABELS,
        nothing_to_undo=NOTHING_TO_UNDO,
        field_labels=FIELD_LABELS,
        site_href=_safe_href(data.get("site")),
        # Markup: _script_json has already made the text inert inside <script>; HTML-escaping it would corrupt the JSON.
        page_json=Markup(_script_json(page_data)),  # noqa: S704
        css=Markup(CSS),  # noqa: S704
        js=Markup(JS),  # noqa: S704
    )


# GitLab and GitHub turn "@name" into a mention (@all notifies everyone) and a bare URL or www. name into a link:
# a zero-width space after the @, inside "://" and after "www" keeps the text readable and inert.
_MENTION = re.compile(r"(?<![\w.+-])@(?=[\w.-])")
_AUTOLINK = re.compile(r"(?i)(?<=[a-z0-9]:)(?=//)|(?<=\bwww)(?=\.)")
_ZWSP = "\u200b"


def _md(text):
    """Text that Markdown and the HTML a merge-request comment allows both show literally: no control character,
    no mention, no link."""
    text = " ".join(shown(str(text)).split())
    text = _AUTOLINK.sub(_ZWSP, _MENTION.sub("@" + _ZWSP, text))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for char in "\\`*_{}[]()#+!|~":
        text = text.replace(char, "\\" + char)
    return text


def _md_who(item, email=None):
    name = _md(item.get("display_name") or "(no name)")
    email = item.get("email") if email is None else email
    return f"**{name}** &lt;{_md(email)}&gt;" if email else f"**{name}**"


def _md_field(change, field):
    after = _md(format_value(field["after"], field["name"]))
    if change["action"] == "create":
        return f"{_md(field['label'])}: {after}"
    return f"{_md(field['label'])}: {_md(format_value(field['before'], field['name']))} → {after}"


def _md_changes(changes, max_changes):
    shown = changes[:max_changes]
    title = "#### Changes"
    if len(changes) > len(shown):
        title += f" (first {len(shown)} of {len(changes)}; the HTML report lists them all)"
    lines = [title, "", "| action | staff member | fields |", "|---|---|---|"]
    for change in shown:
        who = _md_who(change) + (f" (staff {_md(change['id'])})" if change.get("id") else "")
        fields = "<br>".join(_md_field(change, field) for field in change["fields"])
        if change["action"] == "restore":
            fields = _md(change["why"]) + "<br>" + fields
        lines.append(f"| {change['label']} | {who} | {fields} |")
    return lines + [""]


def _md_cases(title, cases):
    lines = [f"#### {title} ({len(cases)})", ""]
    for case in cases:
        candidates = ", ".join(f"staff {_md(c['id'])} " + ("(not found)" if c.get("missing") else _md(full_name(c)))
                               for c in case["candidates"])
        lines.append(f"- {_md_who(case)}: {_md(case['why'])}. Candidates: {candidates or 'none'}")
    return lines + [""]


def _md_left_as_is(undo):
    left = undo.get("left_as_is") or []
    lines = [f"Undoes run {_md(undo.get('undone_run_id'))}.", "", f"#### Changed since the run: left as it is ({len(left)})", ""]
    for item in left:
        fields = "; ".join(f"{_md(f['field'])}: the run set {_md(format_value(f['run_after'], f['field']))}, now "
                           f"{_md(format_value(f['now'], f['field']))}" for f in item.get("fields") or [])
        lines.append(f"- {_md_who(item)} (staff {_md(item['id'])}): {_md(item['why'])}" + (f". {fields}" if fields else ""))
    return lines + [""]


def render_markdown(data, max_changes=MARKDOWN_MAX_CHANGES):
    """A short summary fit for a merge-request comment: mode, site, counts, the first changes, what needs a decision."""
    mode = "CHECK, nothing was written" if data["mode"] == "check" else "APPLIED"
    kind = "undo" if data.get("undo") else "sync"
    groups = ", ".join(_md(g.get("displayName") or g.get("id")) for g in data["groups"]) or "(none)"
    counts = data["counts"]
    lines = [
        f"### Coconut staff {kind}: {mode}",
        "",
        f"Site: {_md(data['site'])} · Entra groups: {groups} · {_md(_readable_time(data['generated_at']))}",
        "",
        *([f"Before this run: {_md(data['integration'])}", ""] if data.get("integration") else []),
        "| " + " | ".join(label for _key, label in COUNT_LABELS) + " |",
        "|" + "---:|" * len(COUNT_LABELS),
        "| " + " | ".join(str(counts.get(key, 0)) for key, _label in COUNT_LABELS) + " |",
        "",
    ]
    if data["changes"]:
        lines += _md_changes(data["changes"], max_changes)
    else:
        lines += [NOTHING_TO_UNDO if data.get("undo") else "No changes: Coconut's staff already equal the members of the selected Entra groups.", ""]
    if data.get("undo"):
        lines += _md_left_as_is(data["undo"])
    if data["conflicts"]:
        lines += _md_cases("Conflicts", data["conflicts"])
    if data["possible_duplicates"]:
        lines += _md_cases("Possible duplicates", data["possible_duplicates"])
    if data["skipped"]:
        lines += [f"#### Skipped users ({len(data['skipped'])})", ""]
        for item in data["skipped"]:
            errors = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in item.get("errors", []))
            lines.append(f"- {_md_who(item, email='')}: {_md(errors)}")
        lines.append("")
    users = data["users_counts"]
    when = "after the run (predicted)" if data["mode"] == "check" else "after the run"
    lines.append(f"Users tab {when}: {users['total']} staff, {users['synced']} synced, {users['unsynced']} unsynced, "
                 f"{users['archived']} archived, {users['duplicates']} in {users['duplicate_sets']} duplicate set(s).")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Files


def report_paths(path):
    """Where write_report puts the page, the JSON and the Markdown: the JSON and Markdown replace the suffix."""
    html = Path(path)
    if html.suffix.lower() in (".json", ".md"):
        raise CoconutEntraError(f"the report path {path} must not end in .json or .md: those names hold the report's JSON and "
                                "Markdown beside the HTML page; use a path such as report.html")
    return {"html": str(html), "json": str(html.with_suffix(".json")), "markdown": str(html.with_suffix(".md"))}


def write_report(path, data):
    """Write the HTML page, the JSON and the Markdown summary atomically (mode 0600); return their paths."""
    paths = report_paths(path)
    html = render_html(data)
    try:
        write_atomically(paths["json"], json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        write_atomically(paths["markdown"], render_markdown(data))
        write_atomically(paths["html"], html)
    except OSError as error:
        raise CoconutEntraError(f"could not write the sync report to {path}: {error}") from error
    return paths


# ---------------------------------------------------------------------------------------------
# The page. Plain strings: a module_utils file cannot ship package data reliably.

CSS = r"""
:root {
  --ink: #1b2430; --muted: #5b6676; --line: #dfe3ea; --soft: #f5f7fa; --page: #eef1f5; --card: #fff;
  --blue: #1f5fbf; --green: #1d7a46; --green-bg: #e3f4ea; --amber: #8a5a00; --amber-bg: #fff3d6;
  --red: #b42318; --red-bg: #fde8e6; --grey-bg: #edf0f4; --violet: #6041b5; --violet-bg: #efeafc;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--page); color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
.wrap { max-width: 1280px; margin: 0 auto; padding: 0 24px 48px; }
header.top { background: #16233a; color: #fff; }
header.top .wrap { padding-top: 22px; padding-bottom: 22px; }
.brand { font-size: 12px; letter-spacing: .08em; text-transform: uppercase; color: #a9b8d3; margin: 0 0 4px; }
.title-row { display: flex; align-items: center; gap: 14px; flex-wrap: wrap; }
h1 { font-size: 24px; margin: 0; font-weight: 650; }
.mode { display: inline-block; padding: 4px 10px; border-radius: 999px; font-size: 12px; font-weight: 700; letter-spacing: .04em; }
.mode-check { background: #ffd479; color: #4d3400; }
.mode-apply { background: #7ddc9f; color: #0b3b1e; }
dl.meta { display: flex; flex-wrap: wrap; gap: 8px 36px; margin: 14px 0 0; }
dl.meta div { min-width: 0; }
dl.meta dt { font-size: 11px; text-transform: uppercase; letter-spacing: .06em; color: #a9b8d3; }
dl.meta dd { margin: 2px 0 0; font-size: 14px; overflow-wrap: anywhere; }
dl.meta a { color: #fff; }
.groups span { display: inline-block; background: rgba(255,255,255,.12); border-radius: 4px; padding: 0 6px; margin: 0 4px 2px 0; }
nav.toc { position: sticky; top: 0; z-index: 5; background: rgba(255,255,255,.96); border-bottom: 1px solid var(--line); }
nav.toc .wrap { display: flex; gap: 4px; padding-top: 6px; padding-bottom: 6px; flex-wrap: wrap; }
nav.toc a { color: var(--ink); text-decoration: none; padding: 4px 10px; border-radius: 6px; }
nav.toc a:hover { background: var(--soft); }
nav.toc .n { color: var(--muted); margin-left: 4px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(128px, 1fr)); gap: 10px; margin: 20px 0 8px; }
.card { background: var(--card); border: 1px solid var(--line); border-left: 4px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.card .num { font-size: 26px; font-weight: 650; line-height: 1.1; font-variant-numeric: tabular-nums; }
.card .lbl { color: var(--muted); font-size: 12.5px; }
.card.zero .num { color: #a3acb9; }
.card.k-create { border-left-color: var(--green); } .card.k-update { border-left-color: var(--blue); }
.card.k-restore { border-left-color: var(--violet); } .card.k-archive { border-left-color: var(--red); }
.card.k-adopt { border-left-color: #2b8a8a; } .card.k-conflict, .card.k-possible_duplicate, .card.k-skipped { border-left-color: #d49a00; }
.card.attention:not(.zero) { background: var(--amber-bg); }
section.panel { background: var(--card); border: 1px solid var(--line); border-radius: 10px; margin-top: 18px; padding: 6px 18px 16px; }
section.panel > h2 { font-size: 17px; margin: 12px 0 4px; display: flex; align-items: baseline; gap: 8px; }
section.panel > h2 .n { font-size: 13px; color: var(--muted); font-weight: 500; }
.hint { color: var(--muted); margin: 0 0 10px; }
.none { color: var(--muted); padding: 10px 0; margin: 0; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 7px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); background: var(--soft); font-weight: 600;
  position: sticky; top: 41px; z-index: 1; }
tbody tr:hover td { background: #fafbfd; }
.sub { display: block; color: var(--muted); font-size: 12.5px; overflow-wrap: anywhere; }
.pill { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600; white-space: nowrap; }
.a-create { background: var(--green-bg); color: var(--green); } .a-update { background: #e4edfb; color: var(--blue); }
.a-adopt { background: #e0f3f3; color: #1f6f6f; } .a-restore { background: var(--violet-bg); color: var(--violet); }
.a-archive { background: var(--red-bg); color: var(--red); }
.s-active { background: var(--green-bg); color: var(--green); } .s-archived { background: var(--grey-bg); color: var(--muted); }
.dup { background: var(--amber-bg); color: var(--amber); margin-left: 6px; }
.fields { margin: 0; padding: 0; list-style: none; }
.fields li { padding: 1px 0; }
.fname { color: var(--muted); display: inline-block; min-width: 92px; }
del { background: var(--red-bg); color: #7a1a12; text-decoration: line-through; padding: 0 4px; border-radius: 3px; }
ins { background: var(--green-bg); color: #0f4d2b; text-decoration: none; padding: 0 4px; border-radius: 3px; }
.arrow { color: var(--muted); margin: 0 4px; }
.case { border: 1px solid var(--line); border-radius: 8px; margin: 12px 0; overflow: hidden; }
.case > header { background: var(--amber-bg); padding: 8px 12px; }
.case .rule { color: var(--amber); font-weight: 600; }
.side { display: grid; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); gap: 10px; padding: 12px; }
.person { border: 1px solid var(--line); border-radius: 8px; padding: 8px 12px; background: #fff; }
.person.entra { background: #f2f6fd; border-color: #c9d8f2; }
.person h3 { font-size: 13px; margin: 0 0 6px; display: flex; justify-content: space-between; gap: 6px; }
.person dl { margin: 0; display: grid; grid-template-columns: auto 1fr; gap: 2px 10px; font-size: 13px; }
.person dt { color: var(--muted); } .person dd { margin: 0; overflow-wrap: anywhere; }
.mark { width: 56px; text-align: center; font-weight: 700; }
.mark.yes span { display: inline-block; width: 20px; height: 20px; line-height: 20px; border-radius: 50%; background: #22a05a; color: #fff; }
#users-table tr.archived .mark.yes span { background: #8fcba8; }
.mark.no { color: #9aa3b0; }
.toolbar { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; margin: 6px 0 12px; }
.toolbar input[type=search] { flex: 1 1 280px; max-width: 420px; padding: 8px 12px; border: 1px solid #c5ccd6; border-radius: 8px; font: inherit; }
.toolbar input[type=search]:focus { outline: 2px solid #9cbcf0; border-color: var(--blue); }
.filters { display: inline-flex; border: 1px solid #c5ccd6; border-radius: 8px; overflow: hidden; }
.filters button { font: inherit; border: 0; border-right: 1px solid #c5ccd6; background: #fff; padding: 7px 12px; cursor: pointer; color: var(--ink); }
.filters button:last-child { border-right: 0; }
.filters button[aria-pressed=true] { background: var(--blue); color: #fff; }
.filters button .n { opacity: .7; margin-left: 4px; font-variant-numeric: tabular-nums; }
.more { display: flex; gap: 10px; align-items: center; justify-content: center; padding: 14px 0 4px; color: var(--muted); }
.more[hidden] { display: none; }
.more button { font: inherit; border: 1px solid #c5ccd6; background: #fff; border-radius: 8px; padding: 6px 12px; cursor: pointer; }
#users-shown { color: var(--muted); margin-left: auto; font-variant-numeric: tabular-nums; }
#users-table { table-layout: fixed; }
#users-table th { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
#users-table td { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
#users-table td.who { white-space: normal; overflow-wrap: anywhere; }
#users-table tr.archived td { color: #7d8795; }
.mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
footer { color: var(--muted); font-size: 12px; margin-top: 24px; }
noscript p { background: var(--amber-bg); padding: 8px 12px; border-radius: 6px; }
@media print { nav.toc, .toolbar { display: none; } th { position: static; } }
"""

JS = r"""
(function () {
  "use strict";
  document.documentElement.setAttribute("data-script-start-ms", String(Math.round(performance.now())));
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var body = document.getElementById("users-body");
  var input = document.getElementById("users-search");
  var shown = document.getElementById("users-shown");
  var more = document.getElementById("users-more");
  var moreText = document.getElementById("users-more-text");
  var buttons = Array.prototype.slice.call(document.querySelectorAll("[data-filter]"));
  var filters = {
    all: function () { return true; },
    synced: function (u) { return u.synced; },
    unsynced: function (u) { return !u.synced; },
    archived: function (u) { return u.status === "archived"; },
    duplicates: function (u) { return u.duplicate; }
  };
  var labels = {create: "created", update: "updated", adopt: "adopted", restore: "restored", archive: "archived"};
  var state = {filter: "all", q: ""};

  function fold(text) { return String(text).normalize("NFKC").toLowerCase(); }
  function present(value) { return value !== null && value !== undefined && value !== ""; }
  function name(u) { return [u.first_name, u.last_name].filter(present).join(" "); }

  // One lowercase search string per row, computed once; rows are built on first show.
  var entries = data.users.map(function (u) {
    var parts = [name(u), u.email, u.job_title, u.id, u.object_id, u.status, u.role_label, (u.locations || []).join(" "), labels[u.change]];
    return {u: u, tr: null, text: fold(parts.filter(present).join("\n"))};
  });

  function cell(tr, text, className) {
    var td = document.createElement("td");
    if (className) { td.className = className; }
    td.textContent = present(text) ? String(text) : "";
    if (td.textContent.length > 16) { td.title = td.textContent; }  // cells cut with an ellipsis show it in full on hover
    tr.appendChild(td);
    return td;
  }
  function pill(parent, text, className, title) {
    var span = document.createElement("span");
    span.className = "pill " + className;
    span.textContent = text;
    if (title) { span.title = title; }
    parent.appendChild(span);
  }
  function build(u) {
    var tr = document.createElement("tr");
    tr.setAttribute("data-id", present(u.id) ? String(u.id) : "");
    if (u.status === "archived") { tr.className = "archived"; }
    var mark = cell(tr, "", u.synced ? "mark yes" : "mark no");
    if (u.synced) {
      var check = document.createElement("span");
      check.textContent = "\u2713";
      mark.appendChild(check);
      mark.title = "Synced through Entra ID (object id " + u.object_id + ")";
    } else {
      mark.textContent = "\u2013";
      mark.title = "Not synced: added in Coconut";
    }
    var who = cell(tr, name(u) || "(no name)", "who");
    if (u.duplicate) { pill(who, "duplicate", "dup", "Same email or name as staff " + u.duplicate_with.join(", ")); }
    cell(tr, u.email);
    cell(tr, u.job_title);
    cell(tr, u.role_label);
    pill(cell(tr, ""), u.status || "?", u.status === "archived" ? "s-archived" : "s-active");
    cell(tr, (u.locations || []).join(", "));
    cell(tr, /^new-\d+$/.test(String(u.id)) ? "(new)" : u.id, "mono");
    var change = cell(tr, "");
    if (u.change) { pill(change, labels[u.change] || u.change, "a-" + u.change); }
    return tr;
  }

  // Laying out thousands of table rows takes seconds, so rows are added a page at a time:
  // the first page at once, the next ones as the reader scrolls near the end, or all on request.
  var PAGE = 200;
  var matches = [];
  var rendered = 0;

  function showMore(count) {
    var fragment = document.createDocumentFragment();
    var stop = Math.min(matches.length, rendered + count);
    for (; rendered < stop; rendered++) {
      var entry = matches[rendered];
      if (!entry.tr) { entry.tr = build(entry.u); }
      fragment.appendChild(entry.tr);
    }
    body.appendChild(fragment);
    var rest = matches.length - rendered;
    more.hidden = rest <= 0;
    moreText.textContent = "Showing " + rendered.toLocaleString("en") + " of " + matches.length.toLocaleString("en") + " matching staff.";
    body.setAttribute("data-rendered", String(rendered));
  }

  function render() {
    var terms = fold(state.q).split(/\s+/).filter(Boolean);
    var test = filters[state.filter];
    matches = entries.filter(function (entry) {
      if (!test(entry.u)) { return false; }
      for (var j = 0; j < terms.length; j++) { if (entry.text.indexOf(terms[j]) === -1) { return false; } }
      return true;
    });
    rendered = 0;
    body.replaceChildren();
    if (!matches.length) {
      var tr = document.createElement("tr");
      cell(tr, "No staff match this search and filter.", "none").colSpan = 9;
      body.appendChild(tr);
    }
    showMore(PAGE);
    var count = matches.length.toLocaleString("en");
    shown.textContent = (state.filter === "all" && !terms.length) ? count + " staff" : count + " of " + entries.length.toLocaleString("en") + " staff match";
    shown.setAttribute("data-shown", String(matches.length));
    buttons.forEach(function (b) { b.setAttribute("aria-pressed", String(b.getAttribute("data-filter") === state.filter)); });
    document.documentElement.setAttribute("data-filter", state.filter);
  }

  document.getElementById("users-more-page").addEventListener("click", function () { showMore(1000); });
  document.getElementById("users-more-all").addEventListener("click", function () { showMore(matches.length); });
  if ("IntersectionObserver" in window) {
    new IntersectionObserver(function (seen) {
      if (seen[0].isIntersecting && !more.hidden) { showMore(PAGE * 2); }
    }, {rootMargin: "800px 0px"}).observe(more);
  }

  function readHash() {
    var params = new URLSearchParams(location.hash.replace(/^#/, ""));
    if (!params.has("filter") && !params.has("q")) { return false; }
    state.filter = Object.prototype.hasOwnProperty.call(filters, params.get("filter")) ? params.get("filter") : "all";
    state.q = params.get("q") || "";
    input.value = state.q;
    return true;
  }
  function writeHash() {
    var params = new URLSearchParams();
    if (state.filter !== "all") { params.set("filter", state.filter); }
    if (state.q) { params.set("q", state.q); }
    var hash = params.toString();
    try { history.replaceState(null, "", hash ? "#" + hash : location.pathname + location.search); } catch (e) { /* file:// in some browsers */ }
  }

  var timer = null;
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { state.q = input.value; render(); writeHash(); }, 120);
  });
  buttons.forEach(function (b) {
    b.addEventListener("click", function () { state.filter = b.getAttribute("data-filter"); render(); writeHash(); });
  });
  window.addEventListener("hashchange", function () { if (readHash()) { render(); } });

  var started = performance.now();
  var fromHash = readHash();
  render();
  document.documentElement.setAttribute("data-render-ms", String(Math.round(performance.now() - started)));
  document.documentElement.setAttribute("data-ready", "true");
  if (fromHash) { document.getElementById("users").scrollIntoView(); }
})();
"""

HTML_TEMPLATE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Coconut staff {{ 'undo' if d.undo else 'sync' }}: {{ 'CHECK' if d.mode == 'check' else 'APPLIED' }} · {{ d.site }}</title>
<style>{{ css }}</style>
</head>
<body>
<header class="top"><div class="wrap">
  <p class="brand">coconut.entra · staff {{ 'undo' if d.undo else 'sync' }} report</p>
  <div class="title-row">
    <h1>{{ d.site }}</h1>
    {% if d.mode == 'check' %}
    <span class="mode mode-check" id="mode" title="A check run (--check): this is what a real run would do">CHECK · nothing was written</span>
    {% else %}
    <span class="mode mode-apply" id="mode">APPLIED</span>
    {% endif %}
  </div>
  <dl class="meta">
    <div><dt>Coconut site</dt><dd>{% if site_href %}<a href="{{ site_href }}">{{ d.site }}</a>{% else %}{{ d.site }}{% endif %}</dd></div>
    <div><dt>Entra groups</dt><dd class="groups">
      {%- for g in d.groups %}<span title="{{ g.id }}">{{ g.displayName or g.id }}</span>{% else %}(none){% endfor -%}
    </dd></div>
    <div><dt>When</dt><dd><time datetime="{{ d.generated_at }}">{{ d.generated_at | when }}</time></dd></div>
    {% if d.run_id %}<div><dt>Run</dt><dd class="mono" id="run-id">{{ d.run_id }}</dd></div>{% endif %}
    {% if d.undo %}<div><dt>Undoes run</dt><dd class="mono" id="undoes">{{ d.undo.undone_run_id }}</dd></div>{% endif %}
    {% if d.options.get('membership') %}<div><dt>Membership</dt><dd>{{ d.options.get('membership') }}</dd></div>{% endif %}
    {% if d.integration %}<div><dt>Before this run</dt><dd id="integration">{{ d.integration }}</dd></div>{% endif %}
  </dl>
</div></header>

<nav class="toc"><div class="wrap">
  <a href="#changes">Changes<span class="n">{{ d.changes | length | n }}</span></a>
  {% if d.undo %}<a href="#left-as-is">Left as it is<span class="n">{{ d.undo.left_as_is | length | n }}</span></a>{% endif %}
  <a href="#conflicts">Conflicts<span class="n">{{ d.conflicts | length }}</span></a>
  <a href="#possible-duplicates">Possible duplicates<span class="n">{{ d.possible_duplicates | length }}</span></a>
  {% if d.skipped %}<a href="#skipped">Skipped<span class="n">{{ d.skipped | length }}</span></a>{% endif %}
  <a href="#duplicate-sets">Duplicate sets<span class="n">{{ d.duplicate_sets | length | n }}</span></a>
  <a href="#users">Users tab<span class="n">{{ d.users | length | n }}</span></a>
</div></nav>

<main class="wrap">
<div class="cards" id="counts">
  {% for key, label in count_labels %}
  {% set count = d.counts[key] | default(0) %}
  {% set attention = key in ('conflict', 'possible_duplicate', 'skipped') %}
  <div class="card k-{{ key }}{% if count == 0 %} zero{% endif %}{% if attention %} attention{% endif %}" data-count="{{ key }}">
    <div class="num">{{ count | n }}</div><div class="lbl">{{ label }}</div>
  </div>
  {% endfor %}
</div>

<section class="panel" id="changes">
  <h2>Changes <span class="n">{{ d.changes | length | n }}</span></h2>
  {% if d.changes %}
  <p class="hint">{{ 'What a real run would write.' if d.mode == 'check' else 'What this run wrote.' }} Only the fields that change are listed.</p>
  <table>
    <thead><tr><th style="width:96px">Action</th><th style="width:26%">Staff member</th><th>Fields: before → after</th>
      <th style="width:26%">Why</th></tr></thead>
    <tbody>
    {% for c in d.changes %}
      <tr data-action="{{ c.label }}">
        <td><span class="pill a-{{ c.label }}">{{ c.label }}</span></td>
        <td><strong>{{ c.display_name or '(no name)' }}</strong>
          <span class="sub">{{ c.email or '' }}</span>
          <span class="sub mono">{% if c.id %}staff {{ c.id }}{% else %}new staff{% endif %}
            {%- if c.object_id %} · Entra {{ c.object_id }}{% endif %}</span></td>
        <td><ul class="fields">
          {% for f in c.fields %}
          <li><span class="fname">{{ f.label }}</span>
            {%- if c.action == 'create' %}<ins>{{ f.after | v(f.name) }}</ins>
            {%- else %}<del>{{ f.before | v(f.name) }}</del><span class="arrow">→</span><ins>{{ f.after | v(f.name) }}</ins>{% endif %}</li>
          {% endfor %}
        </ul></td>
        <td>{{ c.why }}</td>
      </tr>
    {% endfor %}
    </tbody>
  </table>
  {% else %}
  <p class="none" id="no-changes">{% if d.undo %}{{ nothing_to_undo }}{% else -%}
    No changes: Coconut's staff already equal the members of the selected Entra groups.{% endif %}</p>
  {% endif %}
</section>

{% if d.undo %}
<section class="panel" id="left-as-is">
  <h2>Changed since the run: left as it is <span class="n">{{ d.undo.left_as_is | length | n }}</span></h2>
  {% if d.undo.left_as_is %}
  <p class="hint">These staff changed after the undone run (by hand, or by a later run): the undo left them as they are.</p>
  <table>
    <thead><tr><th style="width:26%">Staff member</th><th>Fields: the run set → now</th><th style="width:26%">Why</th></tr></thead>
    <tbody>
    {% for item in d.undo.left_as_is %}
      <tr><td><strong>{{ item.display_name or '(no name)' }}</strong><span class="sub">{{ item.email or '' }}</span>
        <span class="sub mono">staff {{ item.id }}</span></td>
        <td><ul class="fields">{% for f in item.fields %}<li><span class="fname">{{ field_labels.get(f.field, f.field) }}</span>
          <del>{{ f.run_after | v(f.field) }}</del>
          <span class="arrow">→</span><ins>{{ f.now | v(f.field) }}</ins></li>{% endfor %}</ul></td>
        <td>{{ item.why }}</td></tr>
    {% endfor %}
    </tbody>
  </table>
  {% else %}
  <p class="none">Nothing: every change of the undone run still stood, or was already undone.</p>
  {% endif %}
</section>
{% endif %}

{% macro person(p) %}
  <div class="person">
    {% if p.missing %}
    <h3><span>Staff {{ p.id }}</span></h3><p class="none">Not found in Coconut any more.</p>
    {% else %}
    <h3><span>Staff {{ p.id }}</span>
      {%- if p.synced %}<span class="pill a-create" title="Synced through Entra ID">✓ synced</span>
      {%- else %}<span class="pill s-archived" title="Not synced">– unsynced</span>{% endif %}</h3>
    <dl>
      <dt>Name</dt><dd>{{ p | full_name or '(no name)' }}</dd>
      <dt>Email</dt><dd>{{ p.email or '(empty)' }}</dd>
      <dt>Job title</dt><dd>{{ p.job_title or '(empty)' }}</dd>
      <dt>Status</dt><dd>{{ p.status }}</dd>
      {% if p.object_id %}<dt>Entra id</dt><dd class="mono">{{ p.object_id }}</dd>{% endif %}
    </dl>
    {% endif %}
  </div>
{% endmacro %}

{% macro cases(items, kind) %}
  {% for case in items %}
  <article class="case" data-kind="{{ kind }}">
    <header><strong>{{ case.display_name or '(no name)' }}</strong>{% if case.email %} &lt;{{ case.email }}&gt;{% endif %}:
      <span class="rule">{{ case.why }}</span></header>
    <div class="side">
      <div class="person entra">
        <h3><span>Entra user</span></h3>
        <dl>
          <dt>Name</dt><dd>{{ case.display_name or '(no name)' }}</dd>
          <dt>Email</dt><dd>{{ case.email or '(empty)' }}</dd>
          <dt>Object id</dt><dd class="mono">{{ case.object_id }}</dd>
        </dl>
      </div>
      {% for p in case.candidates %}{{ person(p) }}{% endfor %}
    </div>
  </article>
  {% endfor %}
{% endmacro %}

<section class="panel" id="conflicts">
  <h2>Conflicts <span class="n">{{ d.conflicts | length }}</span></h2>
  {% if d.conflicts %}
  <p class="hint">Each Entra user below matched several staff members at one rule, so nothing was written for them.
    Archive or correct the extra staff in Coconut, then run again.</p>
  {{ cases(d.conflicts, 'conflict') }}
  {% else %}<p class="none">None.</p>{% endif %}
</section>

<section class="panel" id="possible-duplicates">
  <h2>Possible duplicates <span class="n">{{ d.possible_duplicates | length }}</span></h2>
  {% if d.possible_duplicates %}
  <p class="hint">These Entra users matched nobody, but unsynced staff share their email or name: creating them could duplicate a person.
    Fix the staff record so a rule matches, or set <code>coconut_possible_duplicates: create</code>.</p>
  {{ cases(d.possible_duplicates, 'possible_duplicate') }}
  {% else %}<p class="none">None.</p>{% endif %}
</section>

{% if d.skipped %}
<section class="panel" id="skipped">
  <h2>Skipped users <span class="n">{{ d.skipped | length }}</span></h2>
  <p class="hint">Their mapping failed (<code>coconut_invalid_users: skip</code>); their staff records were left as they are.</p>
  <table><thead><tr><th>Entra user</th><th>Problems</th></tr></thead><tbody>
  {% for s in d.skipped %}
    <tr><td><strong>{{ s.display_name or '(no name)' }}</strong><span class="sub mono">{{ s.object_id }}</span></td>
      <td><ul class="fields">{% for e in s.errors %}<li><span class="fname">{{ e.field }}</span>{{ e.message }}</li>{% endfor %}</ul></td></tr>
  {% endfor %}
  </tbody></table>
</section>
{% endif %}

<section class="panel" id="duplicate-sets">
  <h2>Duplicate sets in Coconut <span class="n">{{ d.duplicate_sets | length | n }}</span></h2>
  {% if d.duplicate_sets %}
  <p class="hint">Staff sharing an email or a first and last name after the run (archived staff included).
    Keep the synced one; archive the others, or let <code>coconut_archive_unsynced_duplicates: true</code> do it.</p>
  <table><thead><tr><th style="width:90px">Shared</th><th>Value</th><th>Staff</th><th>Synced</th></tr></thead><tbody>
  {% for s in d.duplicate_sets %}
    <tr><td>{{ s.key }}</td><td>{{ s.value }}</td>
      <td>{% for m in s.members %}<span class="sub"><span class="mono">{{ m }}</span> {{ s.names[loop.index0] }}</span>{% endfor %}</td>
      <td>{% if s.synced %}✓ {{ s.synced | join(', ') }}{% else %}<span class="sub">none synced</span>{% endif %}</td></tr>
  {% endfor %}
  </tbody></table>
  {% else %}<p class="none">None.</p>{% endif %}
</section>

<section class="panel" id="users">
  <h2>Users tab <span class="n">{{ d.users_counts.total | n }} staff {{ '(predicted)' if d.mode == 'check' else '(after the run)' }}</span></h2>
  <p class="hint">✓ added or adopted through the Entra ID integration; – added in Coconut. Search matches name, email, job title, ids, role and location.</p>
  <div class="toolbar">
    <input type="search" id="users-search" placeholder="Search staff…" aria-label="Search staff" autocomplete="off">
    <div class="filters" role="group" aria-label="Filter staff">
      <button type="button" data-filter="all" aria-pressed="true">All<span class="n">{{ d.users_counts.total | n }}</span></button>
      <button type="button" data-filter="synced" aria-pressed="false">✓ Synced<span class="n">{{ d.users_counts.synced | n }}</span></button>
      <button type="button" data-filter="unsynced" aria-pressed="false">– Unsynced<span class="n">{{ d.users_counts.unsynced | n }}</span></button>
      <button type="button" data-filter="archived" aria-pressed="false">Archived<span class="n">{{ d.users_counts.archived | n }}</span></button>
      <button type="button" data-filter="duplicates" aria-pressed="false">Duplicates<span class="n">{{ d.users_counts.duplicates | n }}</span></button>
    </div>
    <span id="users-shown" data-shown=""></span>
  </div>
  <noscript><p>The Users tab needs JavaScript; the same rows are in the JSON file beside this page.</p></noscript>
  <table id="users-table">
    <colgroup><col style="width:88px"><col style="width:16%"><col style="width:20%"><col style="width:13%"><col style="width:150px">
      <col style="width:92px"><col><col style="width:88px"><col style="width:96px"></colgroup>
    <thead><tr><th class="mark" title="Synced through Entra ID">Synced</th><th>Name</th><th>Email</th><th>Job title</th><th>Role</th>
      <th>Status</th><th>Locations</th><th>Staff id</th><th>This run</th></tr></thead>
    <tbody id="users-body"></tbody>
  </table>
  <div id="users-more" class="more" hidden>
    <span id="users-more-text"></span>
    <button type="button" id="users-more-page">Show 1,000 more</button>
    <button type="button" id="users-more-all">Show all</button>
  </div>
</section>

<footer>Generated by coconut.entra at {{ d.generated_at }}. The same data is in the JSON file beside this page.</footer>
</main>
<script type="application/json" id="report-data">{{ page_json }}</script>
<script>{{ js }}</script>
</body>
</html>
"""
