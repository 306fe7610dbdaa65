"""Undo a mistaken sync run (issue 14), against one sandbox: the run, a hand edit, the preview, the undo, a second undo,
and the refusals, each refusal with zero writes."""

from __future__ import annotations

import copy
import json

import pytest

from ansible_collections.coconut.entra.plugins.module_utils.common import coconut_client_from_params
from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.undo_run import Undo

from .direct import params, run_sync
from .playbook import run_playbook
from .team import GROUP
from sandbox.client import Ids, make_user, synced

pytestmark = pytest.mark.integration

RIGHT, CREATED, LEFT, ADOPTED = 50, 10, 5, 3
HAND_EDIT = "Head Teller (set by hand)"
TITLES = ["Teller", "Senior Teller", "Advisor", "Branch Manager", "Mortgage Specialist"]


def _staff(user, **extra):
    record = {"first_name": user["givenName"], "last_name": user["surname"], "email": user["mail"], "username": None,
              "external_id": None, "job_title": user["jobTitle"], "language": "en", "role": 10, "status": "active",
              "locations": [], "user_group_id": None, "integration": synced(user)}
    record.update(extra)
    return record


def scenario():
    """50 synced staff, 10 group members with no staff yet, 5 synced staff whose users left the group, 3 unsynced staff
    that rule A adopts, and one unsynced staff member nobody matches. Every user's department is "Retail"."""
    ids = Ids(14)
    users = [make_user(ids, "Given%d" % n, "Surname%d" % n, domain="mapleridge.example", jobTitle=TITLES[n % len(TITLES)],
                       department="Retail") for n in range(RIGHT + CREATED + LEFT + ADOPTED)]
    right, created = users[:RIGHT], users[RIGHT:RIGHT + CREATED]
    left, adopted = users[RIGHT + CREATED:RIGHT + CREATED + LEFT], users[RIGHT + CREATED + LEFT:]
    staff = [_staff(u, id=101 + n) for n, u in enumerate(right)]
    staff += [_staff(u, id=301 + n) for n, u in enumerate(left)]
    staff += [_staff(u, id=401 + n, integration=None, job_title="Cashier") for n, u in enumerate(adopted)]
    staff.append({"id": 900, "first_name": "Front", "last_name": "Desk", "email": "frontdesk@mapleridge.example", "username": None,
                  "external_id": None, "job_title": "Reception", "language": "en", "role": 10, "status": "active", "locations": [],
                  "user_group_id": None, "integration": None})
    base = {
        "entra": {"tenant_id": ids(), "applications": [{"app_id": ids(), "id": ids(), "display_name": "Coconut staff sync",
                                                        "roles": ["GroupMember.Read.All", "User.Read.All"],
                                                        "secrets": [{"key_id": ids(), "text": "sbx~undo-secret-value-14",
                                                                     "end": "2030-01-01T00:00:00Z"}]}],
                  "users": users,
                  "groups": [{"id": GROUP, "displayName": "Coconut - Team", "members": [u["id"] for u in right + created + adopted]}]},
        "coconut": {"site": "undo", "api_tokens": [{"id": "t1", "name": "sandbox", "value": "cct_undo_token_value_14"}],
                    "locations": [], "user_groups": [], "users": staff,
                    "integration": {"status": "connected", "tenant_id": None, "client_id": None, "groups": [GROUP]}},
    }
    return base


def staff_now(sandbox):
    return {int(u["id"]): u for u in sandbox.state()["coconut"]["users"]}


def undo_params(sandbox, run_report, **options):
    p = params(sandbox.vars)
    p.update(run_report=str(run_report), archive_threshold="10%", force_archive=False, diff_max_entries=50, lease_wait=5,
             lease_ttl=120, report=None)
    p.update(options)
    return p


def undo_directly(sandbox, run_report, check_mode=False, **options):
    coconut = coconut_client_from_params(undo_params(sandbox, run_report, **options))
    try:
        return Undo(coconut, undo_params(sandbox, run_report, **options), check_mode=check_mode).run()
    finally:
        coconut.close()


def refused(sandbox, run_report, check_mode=False, **options):
    """The undo's error message; asserts it wrote nothing and read no staff."""
    sandbox.clear_requests()
    with pytest.raises(CoconutEntraError) as caught:
        undo_directly(sandbox, run_report, check_mode=check_mode, **options)
    assert sandbox.writes() == [], "a refused undo writes nothing"
    return caught.value.msg


def test_undo_puts_coconut_back_except_what_was_changed_since(module_sandbox, tmp_path):
    sandbox = module_sandbox
    sandbox.reset(scenario())
    before = staff_now(sandbox)

    # The mistaken run: the department mapped into the job title.
    run = run_sync(sandbox, mapping={"job_title": "user.department"}, report=str(tmp_path / "run.html"))
    assert run.ok, run.msg
    counts = run.result["counts"]
    assert (counts["update"], counts["adopt"], counts["create"], counts["archive"]) == (RIGHT + ADOPTED, ADOPTED, CREATED, LEFT)
    after_run = staff_now(sandbox)

    # What the report of the applied run carries (item 1 of the issue).
    report = json.loads((tmp_path / "run.json").read_text())
    assert (report["mode"], report["site"], report["run_id"]) == ("apply", sandbox.vars["coconut_url"], run.result["run_id"])
    created = {c["object_id"]: c["id"] for c in report["changes"] if c["action"] == "create"}
    made = {u["integration"]["object_id"]: str(sid) for sid, u in after_run.items() if sid not in before}
    assert len(created) == CREATED and created == made, "every created staff member's Coconut id is in the report"
    adoptions = [c for c in report["changes"] if c.get("adopt")]
    assert len(adoptions) == ADOPTED and all(c["before"]["integration"] is None and c["after"]["integration"]["object_id"]
                                             for c in adoptions)
    archives = [c for c in report["changes"] if c["action"] == "archive"]
    assert {(c["id"], c["before"]["status"], c["after"]["status"]) for c in archives} == {
        (str(301 + n), "active", "archived") for n in range(LEFT)}

    # One field edited by hand since the run, through Coconut's API.
    coconut = coconut_client_from_params(params(sandbox.vars))
    try:
        coconut.update_staff(107, {"job_title": HAND_EDIT})
    finally:
        coconut.close()
    edited = staff_now(sandbox)

    # Undoing archives the 10 staff the run created: past the default threshold (6 of 63), so it needs force_archive.
    message = refused(sandbox, tmp_path / "run.json", check_mode=True)
    assert "the undo would archive 10 staff, more than coconut_archive_threshold 10% allows (6 of 63" in message
    assert "coconut_force_archive: true" in message

    # The preview: exactly the reversal, nothing written.
    sandbox.clear_requests()
    extra = {"coconut_undo_report": str(tmp_path / "run.json"), "coconut_force_archive": True}
    preview = run_playbook("undo.yml", tmp_path, vars_files=[sandbox.vars_file], extra=extra, check=True, diff=True)
    assert preview.rc == 0, preview.output
    assert sandbox.writes() == [] and staff_now(sandbox) == edited
    planned = preview.task("Undo the sync run")
    assert planned["changed"] is True and planned["undone_run_id"] == run.result["run_id"]
    assert {k: planned["counts"][k] for k in ("update", "archive", "restore", "left_as_is")} == {
        "update": RIGHT - 1 + ADOPTED, "archive": CREATED, "restore": LEFT, "left_as_is": 1}
    expected = {}
    for sid, now in edited.items():
        if sid not in before:
            expected[sid] = {"status": "archived"}
            continue
        back = {name: value for name, value in before[sid].items() if value != now[name] and not (sid == 107 and name == "job_title")}
        if back:
            expected[sid] = back
    shown = {int(c["id"]): c["after"] for c in planned["changes"]}
    assert shown == expected, "the preview is exactly the reversal of the run, less the hand-edited field"
    assert [item["id"] for item in planned["left_as_is"]] == ["107"]
    assert planned["left_as_is"][0]["fields"] == [{"field": "job_title", "run_before": before[107]["job_title"], "run_after": "Retail",
                                                   "now": HAND_EDIT}]
    assert "changed since the run: left as it is" in preview.stdout and HAND_EDIT in preview.stdout
    assert "adopted by the undone run" in json.dumps(planned["changes"])

    # The undo: Coconut as before the run, but the hand-edited field; created staff archived, never deleted.
    sandbox.clear_requests()
    applied = run_playbook("undo.yml", tmp_path, vars_files=[sandbox.vars_file],
                           extra=dict(extra, coconut_sync_report=str(tmp_path / "undo.html")))
    assert applied.rc == 0, applied.output
    result = applied.task("Undo the sync run")
    lease_writes = [r for r in sandbox.writes("coconut") if "integrations/entra-id" in r["path"]]
    assert len(lease_writes) >= 2, "the undo took the site lease (and released it) around its writes, like a sync"
    assert result["changed"] is True and [item["id"] for item in result["left_as_is"]] == ["107"]
    now = staff_now(sandbox)
    assert set(now) == set(after_run), "undo deletes nobody"
    for sid, member in now.items():
        if sid in before:
            wanted = dict(before[sid], job_title=HAND_EDIT) if sid == 107 else before[sid]
            assert member == wanted, sid
        else:
            assert member["status"] == "archived" and member == dict(after_run[sid], status="archived"), sid
    undo_report = json.loads((tmp_path / "undo.json").read_text())
    assert undo_report["mode"] == "apply" and undo_report["undo"]["undone_run_id"] == run.result["run_id"]
    assert [item["id"] for item in undo_report["undo"]["left_as_is"]] == ["107"]
    assert "left as it is" in (tmp_path / "undo.md").read_text() and "left as it is" in (tmp_path / "undo.html").read_text()
    for text in (preview.output, applied.output, *((tmp_path / name).read_text() for name in ("undo.json", "undo.html", "undo.md"))):
        for secret in (sandbox.vars["coconut_api_token"], sandbox.vars["entra_client_secret"]):
            assert secret not in text, "no secret in the undo's output or report"

    # A second undo with the same report writes nothing.
    sandbox.clear_requests()
    again = run_playbook("undo.yml", tmp_path, vars_files=[sandbox.vars_file],
                         extra=dict(extra, coconut_sync_report=str(tmp_path / "again.html")))
    assert again.rc == 0, again.output
    assert again.task("Undo the sync run")["changed"] is False
    assert sandbox.writes() == [] and staff_now(sandbox) == now
    assert "Nothing to undo" in (tmp_path / "again.md").read_text() and "Nothing to undo" in (tmp_path / "again.html").read_text()

    # The undo's own report can be undone in turn: back to what the mistaken run left (the hand edit still stands).
    redo = undo_directly(sandbox, tmp_path / "undo.json", force_archive=True)
    assert redo["changed"] is True and redo["left_as_is"] == []
    assert staff_now(sandbox) == {**after_run, 107: edited[107]}


def _report(sandbox, **changes):
    data = {"format_version": 2, "generated_at": "2026-12-01T00:00:00+00:00", "run_id": "6f1c2d3e-0000-4000-8000-00000000abcd",
            "site": sandbox.vars["coconut_url"], "mode": "apply",
            "changes": [{"action": "update", "id": "101", "object_id": None, "display_name": "Given0 Surname0", "adopt": False,
                         "before": {"job_title": "Teller"}, "after": {"job_title": "Retail"}}]}
    data.update(changes)
    return data


@pytest.mark.parametrize("case, expected", [
    ("check_mode", "is the report of a check-mode run (mode: 'check'), which wrote nothing"),
    ("other_site", "is a report of the site https://othersite.coconutcalendar.com, but coconut_url is"),
    ("not_json", "is not a sync report: it is not JSON"),
    ("html_page", "undo reads the JSON beside it: coconut_undo_report="),
    ("no_report_keys", "is not a sync report: it lacks the report's keys"),
    ("older_format", "is a report of format 1, written by an older coconut.entra that did not record the Coconut ids"),
    ("create_without_id", "records no Coconut staff id for changes[1] (create 'New Person')"),
    ("missing_file", "cannot be read (FileNotFoundError"),
])
def test_undo_refuses_what_is_not_an_applied_report_of_this_site(module_sandbox, tmp_path, case, expected):
    sandbox = module_sandbox
    sandbox.reset(scenario())
    path = tmp_path / "run.json"
    create = {"action": "create", "id": None, "object_id": "obj-new", "display_name": "New Person", "before": {},
              "after": {"first_name": "New"}}
    contents = {
        "check_mode": _report(sandbox, mode="check"),
        "other_site": _report(sandbox, site="https://othersite.coconutcalendar.com"),
        "no_report_keys": {"changes": [], "counts": {}},
        "older_format": _report(sandbox, format_version=1),
        "create_without_id": _report(sandbox, changes=_report(sandbox)["changes"] + [create]),
    }
    if case in contents:
        path.write_text(json.dumps(contents[case]))
    elif case == "not_json":
        path.write_text("job_title: Retail\n")
    elif case == "html_page":
        path.write_text(json.dumps(_report(sandbox)))
        path = tmp_path / "run.html"
        path.write_text("<!DOCTYPE html><html></html>")
    message = refused(sandbox, path)
    assert expected in message
    assert "coconut_undo_report %s" % path in message and "nothing was written" in message


def test_a_valid_report_of_this_site_is_accepted_whatever_the_url_spelling(module_sandbox, tmp_path):
    """The control for the refusals above: the same report with the site spelt with a trailing slash and capitals undoes."""
    sandbox = module_sandbox
    sandbox.reset(scenario())
    path = tmp_path / "run.json"
    site = sandbox.vars["coconut_url"].upper() + "/"
    path.write_text(json.dumps(_report(sandbox, site=site, changes=[dict(_report(sandbox)["changes"][0], before={"job_title": "Cashier"},
                                                                         after={"job_title": "Teller"})])))
    result = undo_directly(sandbox, path, check_mode=True)
    assert result["counts"]["update"] == 1 and result["changes"][0]["after"] == {"job_title": "Cashier"}
    assert copy.deepcopy(result["left_as_is"]) == []
