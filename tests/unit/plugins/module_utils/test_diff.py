"""What --diff shows for a plan (module_utils/diff.py): a summary, one entry per staff member named by action, only the
fields that change, values told apart (null, "None", ""), and a bounded number of entries.

Elsewhere: roles and staff groups by name (test_report.py), control characters (test_hostile_text.py)."""

from __future__ import annotations

import pytest

from ansible_collections.coconut.entra.plugins.module_utils.diff import plan_changes, render_diff, summary_line

PLAN = {
    "create": [{"object_id": "o1", "display_name": "Noah Fischer", "fields": {"first_name": "Noah", "email": "noah@x"}}],
    "update": [
        {"id": "7", "object_id": "o7", "display_name": "Ada Lovelace", "rule": "object_id", "adopt": False, "restore": False,
         "before": {"job_title": "Teller"}, "after": {"job_title": "Head Teller"}},
        {"id": "8", "object_id": "o8", "display_name": "Bo Chen", "rule": "object_id", "adopt": False, "restore": True,
         "before": {"status": "archived"}, "after": {"status": "active"}},
        {"id": "9", "object_id": "o9", "display_name": "Cy Diaz", "rule": "name_and_email", "adopt": True, "restore": False,
         "before": {"integration": None}, "after": {"integration": {"source": "entra_id", "object_id": "o9"}}},
    ],
    "archive": [{"id": "10", "object_id": "o10", "display_name": None, "reason": "out_of_scope",
                 "before": {"status": "active"}, "after": {"status": "archived"}}],
    "counts": {"create": 1, "update": 2, "restore": 1, "archive": 1, "unchanged": 4},
}
STAFF = {"7": {"email": "ada@x"}, "8": {"email": "bo@x"}, "9": {"email": "cy@x"},
         "10": {"first_name": "Dee", "last_name": "Old", "email": "dee@x"}}


def diff(max_entries=50):
    return render_diff(plan_changes(PLAN, STAFF), PLAN["counts"], max_entries)


def test_the_first_entry_is_the_summary_with_counts_in_a_fixed_order():
    assert diff()[0] == {"prepared": "coconut.entra plan: 1 create, 2 update, 1 restore, 1 archive; 4 unchanged\n"}


def test_conflicts_duplicates_and_skipped_are_summarised_only_when_there_are_some():
    assert summary_line({"conflict": 2, "skipped": 1}) == ("coconut.entra plan: 0 create, 0 update, 0 restore, 0 archive, "
                                                           "2 conflicts, 1 skipped; 0 unchanged")


def test_each_staff_member_is_headed_by_action_name_email_and_id():
    headers = [entry["before_header"] for entry in diff()[1:]]
    assert headers == [
        "create Noah Fischer <noah@x>",
        "update Ada Lovelace <ada@x>, staff 7",
        "restore Bo Chen <bo@x>, staff 8",
        "adopt (rule A: same first name, last name and email) Cy Diaz <cy@x>, staff 9",
        "archive Dee Old <dee@x>, staff 10",
    ]
    # The after header repeats the before header; a restore's adds why (archived in Coconut, still in the group).
    for entry in diff()[1:]:
        if entry["before_header"].startswith("restore "):
            assert entry["after_header"].startswith(entry["before_header"] + ": archived in Coconut but ")
        else:
            assert entry["after_header"] == entry["before_header"]


def test_only_the_changing_fields_are_shown():
    update = diff()[2]
    assert update["before"] == "job_title: Teller\n" and update["after"] == "job_title: Head Teller\n"
    create = diff()[1]
    assert create["before"] == "" and create["after"] == "email: noah@x\nfirst_name: Noah\n"
    assert diff()[5]["after"] == "status: archived\n"


@pytest.mark.parametrize(("value", "text"), [
    (None, "null"), ("None", '"None"'), ("", '""'), ("null", '"null"'), ("true", '"true"'), (True, "true"),
    (" Teller", '" Teller"'), ("Teller", "Teller"), (["B", "A"], '["B", "A"]'), ({"b": 1, "a": 2}, '{"a": 2, "b": 1}'),
])
def test_values_that_would_read_alike_are_shown_apart(value, text):
    change = {"action": "update", "id": "1", "display_name": "Ada", "email": "ada@x", "before": {}, "after": {"job_title": value}}
    assert render_diff([change], {})[1]["after"] == "job_title: %s\n" % text


def test_entries_beyond_the_maximum_are_counted_not_shown():
    entries = diff(max_entries=2)
    assert len(entries) == 4 and entries[-1] == {
        "prepared": "... and 3 more changes not shown (coconut_diff_max_entries: 2; the report lists them all)\n"}
    assert "more changes not shown" not in str(diff(max_entries=5))


def test_an_archive_without_a_display_name_is_named_after_the_staff_member_and_keeps_its_reason():
    [archive] = [c for c in plan_changes(PLAN, STAFF) if c["action"] == "archive"]
    assert archive["display_name"] == "Dee Old" and archive["reason"] == "out_of_scope" and archive["email"] == "dee@x"
