"""undo.py's three-way rules (the run's before, the run's after, Coconut now), on many generated runs, against a model
of the rules written here independently; plus the threshold and the report checks, which need no network."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.reconcile import apply_to_records, plan_is_empty
from ansible_collections.coconut.entra.plugins.module_utils.undo import check_report, read_report, undo_plan

SITE = "https://mapleridge.coconutcalendar.com"
ACTIONS = ("update", "adopt", "restore", "archive", "create")
# Per field: the run's before, the run's after, and a third value someone set since; all different.
VALUES = {
    "first_name": ("Ada", "ADA", "Adah"),
    "job_title": (None, "Retail", "Head Teller"),
    "language": ("en", "fr", "es"),
    "role": (10, 13, 15),
    "locations": (["MAIN"], ["EAST", "MAIN"], ["WEST"]),
    "user_group_id": (None, 7, 9),
}
FIELDS = tuple(VALUES)


def mark(object_id):
    return {"source": "entra_id", "object_id": object_id}


def record(number, **fields):
    base = {"id": str(100 + number), "first_name": "Ada", "last_name": "L%d" % number, "email": "ada%d@contoso.example" % number,
            "job_title": None, "language": "en", "role": 10, "locations": ["MAIN"], "user_group_id": None, "status": "active",
            "integration": mark("obj-%d" % number)}
    base.update(fields)
    return base


@st.composite
def runs(draw):
    """(report, staff now, expected staff after the undo, ids expected to be listed as changed since)."""
    count = draw(st.integers(min_value=1, max_value=8))
    changes, now, expected, listed = [], [], [], set()
    for number in range(count):
        action = draw(st.sampled_from(ACTIONS))
        fields = draw(st.lists(st.sampled_from(FIELDS), unique=True, max_size=3, min_size=1 if action == "update" else 0))
        before_rec = record(number)
        for name in fields:
            before_rec[name] = copy.deepcopy(VALUES[name][0])
        before, after = {}, {}
        for name in fields:
            before[name], after[name] = copy.deepcopy(VALUES[name][0]), copy.deepcopy(VALUES[name][1])
        if action == "adopt":
            before_rec["integration"] = None
            before["integration"], after["integration"] = None, mark("obj-%d" % number)
        elif action == "restore":
            before_rec["status"] = "archived"
            before["status"], after["status"] = "archived", "active"
        elif action == "archive":
            before["status"], after["status"] = "active", "archived"
        # Coconut now: per field the run's after (untouched since), the run's before (put back since), or a third value.
        current = dict(before_rec, **copy.deepcopy(after))
        changed_since = False
        if action == "create":
            current = record(number, **copy.deepcopy(after))
            after = {name: current[name] for name in FIELDS + ("first_name", "last_name", "email", "integration")}
            after_copy = copy.deepcopy(after)
            touched = draw(st.sampled_from(["none", "archived", *FIELDS, "integration"]))
            if touched == "archived":
                current["status"] = "archived"
            elif touched == "integration":
                current["integration"] = None
                changed_since = True
            elif touched != "none":
                current[touched] = copy.deepcopy(VALUES[touched][2])
                changed_since = True
            wanted = dict(current) if changed_since else dict(current, status="archived")
            changes.append({"action": "create", "id": current["id"], "object_id": "obj-%d" % number, "display_name": "Ada",
                            "before": {}, "after": after_copy})
        else:
            wanted = copy.deepcopy(current)
            for name in after:
                choice = draw(st.sampled_from(("after", "before", "other") if name in VALUES or name == "integration"
                                              else ("after", "before")))
                if choice == "before":
                    current[name] = copy.deepcopy(before[name])
                elif choice == "other":
                    current[name] = copy.deepcopy(VALUES[name][2]) if name in VALUES else mark("obj-someone-else")
                    changed_since = True
                # The rule: back to the run's before only where the value now is the run's after.
                wanted[name] = copy.deepcopy(before[name]) if choice == "after" else copy.deepcopy(current[name])
            changes.append({"action": "restore" if action == "restore" else ("archive" if action == "archive" else "update"),
                            "id": current["id"], "object_id": "obj-%d" % number, "display_name": "Ada", "adopt": action == "adopt",
                            "before": before, "after": after})
        if changed_since:
            listed.add(current["id"])
        now.append(current)
        expected.append(wanted)
    report = {"format_version": 2, "run_id": "run-1", "site": SITE, "mode": "apply", "changes": changes}
    return report, now, expected, listed


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs())
def test_the_undo_follows_the_three_way_rules(case):
    report, now, expected, listed = case
    plan = undo_plan(report, copy.deepcopy(now), force_archive=True)
    assert plan["create"] == []
    assert apply_to_records(now, plan) == expected
    assert {item["id"] for item in plan["left_as_is"]} == listed


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs())
def test_a_second_undo_writes_nothing_and_lists_the_same_staff(case):
    report, now, _expected, listed = case
    first = undo_plan(report, copy.deepcopy(now), force_archive=True)
    after = apply_to_records(now, first)
    second = undo_plan(report, after, force_archive=True)
    assert plan_is_empty(second)
    assert {item["id"] for item in second["left_as_is"]} == listed


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs())
def test_the_undo_does_not_touch_staff_outside_the_run_nor_create_anyone(case):
    report, now, _expected, _listed = case
    bystander = record(99, first_name="Front", job_title="Reception", integration=None)
    plan = undo_plan(report, [*copy.deepcopy(now), bystander], force_archive=True)
    touched = {item["id"] for item in plan["update"] + plan["archive"]}
    assert bystander["id"] not in touched
    assert touched <= {change["id"] for change in report["changes"]}


def _created(count):
    staff = [record(n) for n in range(count)]
    changes = [{"action": "create", "id": s["id"], "object_id": s["integration"]["object_id"], "display_name": "Ada", "before": {},
                "after": {"first_name": "Ada", "integration": s["integration"]}} for s in staff]
    return {"format_version": 2, "run_id": "run-1", "site": SITE, "mode": "apply", "changes": changes}, staff


def test_created_staff_are_archived_as_the_archive_threshold_allows():
    report, staff = _created(3)
    others = [record(10 + n) for n in range(27)]  # 30 synced active staff: 10% allows 3 archives
    assert len(undo_plan(report, staff + others)["archive"]) == 3


def test_archiving_more_created_staff_than_the_threshold_allows_needs_force_archive():
    report, staff = _created(4)
    others = [record(10 + n) for n in range(26)]
    with pytest.raises(CoconutEntraError) as caught:
        undo_plan(report, staff + others)
    assert caught.value.msg.startswith("the undo would archive 4 staff, more than coconut_archive_threshold 10% allows (3 of 30 "
                                       "synced active staff); nothing was written")
    assert "set coconut_force_archive: true or raise coconut_archive_threshold" in caught.value.msg
    assert len(undo_plan(report, staff + others, force_archive=True)["archive"]) == 4
    assert len(undo_plan(report, staff + others, archive_threshold=4)["archive"]) == 4


def test_archiving_again_what_the_run_restored_counts_towards_the_threshold():
    staff = [record(n) for n in range(5)]
    changes = [{"action": "restore", "id": s["id"], "display_name": "Ada", "before": {"status": "archived"}, "after": {"status": "active"}}
               for s in staff]
    report = {"format_version": 2, "run_id": "run-1", "site": SITE, "mode": "apply", "changes": changes}
    with pytest.raises(CoconutEntraError, match="the undo would archive 5 staff"):
        undo_plan(report, staff, archive_threshold=4)


def test_an_adoption_undone_leaves_the_staff_member_unsynced():
    member = record(1, job_title="Retail")
    change = {"action": "update", "id": member["id"], "adopt": True, "display_name": "Ada",
              "before": {"job_title": "Cashier", "integration": None}, "after": {"job_title": "Retail", "integration": member["integration"]}}
    report = {"format_version": 2, "run_id": "run-1", "site": SITE, "mode": "apply", "changes": [change]}
    plan = undo_plan(report, [member])
    assert plan["update"][0]["after"] == {"job_title": "Cashier", "integration": None}
    assert "unsynced again" in plan["update"][0]["undo"]


def test_a_staff_member_gone_from_coconut_is_listed_not_written():
    report, _staff = _created(1)
    plan = undo_plan(report, [])
    assert plan_is_empty(plan) and plan["left_as_is"][0]["why"].startswith("no longer in Coconut")


VALID = {"format_version": 2, "run_id": "run-1", "site": SITE, "mode": "apply", "changes": []}


@pytest.mark.parametrize("data, expected", [
    (dict(VALID, mode="check"), "is the report of a check-mode run"),
    (dict(VALID, site="https://other.coconutcalendar.com"), "is a report of the site https://other.coconutcalendar.com, but coconut_url is"),
    (dict(VALID, format_version=1), "is a report of format 1, written by an older coconut.entra"),
    (dict(VALID, format_version=3), "is a report of format 3, newer than this coconut.entra understands"),
    (dict(VALID, format_version="2"), "format_version is '2'"),
    ([VALID], "lacks the report's keys"),
    ({k: v for k, v in VALID.items() if k != "changes"}, "lacks the report's keys"),
    (dict(VALID, run_id=None), "has no run_id"),
    (dict(VALID, changes=[{"action": "delete", "id": "1", "before": {}, "after": {}}]), "changes[0] is not a change"),
    (dict(VALID, changes=[{"action": "update", "id": "1", "before": {}}]), "changes[0] lacks its before and after"),
])
def test_check_report_refuses_with_the_file_and_the_fix(data, expected):
    with pytest.raises(CoconutEntraError) as caught:
        check_report(data, "/tmp/run.json", SITE)
    assert caught.value.msg.startswith("coconut_undo_report /tmp/run.json ") and expected in caught.value.msg
    assert "nothing was written" in caught.value.msg


def test_check_report_accepts_the_site_however_it_is_spelt():
    assert check_report(dict(VALID, site=SITE.upper() + "/"), "/tmp/run.json", " " + SITE) is not None


def test_read_report_names_the_json_beside_an_html_page(tmp_path):
    (tmp_path / "run.json").write_text(json.dumps(VALID))
    (tmp_path / "run.html").write_text("<!DOCTYPE html>")
    with pytest.raises(CoconutEntraError, match="undo reads the JSON beside it: coconut_undo_report=%s" % (tmp_path / "run.json")):
        read_report(tmp_path / "run.html")
    assert read_report(tmp_path / "run.json") == VALID


def test_undo_knows_the_report_format_the_sync_writes_now():
    # A new report format must be taught to undo (undo.LAST_KNOWN_FORMAT) before a sync writes it.
    from ansible_collections.coconut.entra.plugins.module_utils.report import FORMAT_VERSION
    from ansible_collections.coconut.entra.plugins.module_utils.undo import FIRST_UNDOABLE_FORMAT, LAST_KNOWN_FORMAT

    assert FIRST_UNDOABLE_FORMAT <= FORMAT_VERSION == LAST_KNOWN_FORMAT
