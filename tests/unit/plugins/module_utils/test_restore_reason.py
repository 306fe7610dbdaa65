"""The words for a restore (issue 12): a synced staff member archived in Coconut whose Entra user is in a selected group
is restored, and every place a person reads says so, naming the group and how to keep them archived."""

from __future__ import annotations

from ansible_collections.coconut.entra.plugins.module_utils.diff import plan_changes, render_diff, restore_reason
from ansible_collections.coconut.entra.plugins.module_utils.report import _why, render_markdown


def restore(group="Tellers", adopt=False):
    after = {"status": "active"}
    if adopt:
        after["integration"] = {"source": "entra_id", "object_id": "o-7"}
    return {"create": [], "archive": [], "update": [
        {"id": "7", "object_id": "o-7", "display_name": "Ada Lovelace", "rule": "object_id" if not adopt else "name_and_email",
         "adopt": adopt, "restore": True, "before": {"status": "archived"}, "after": after, "group": group}]}


STAFF = {"7": {"id": "7", "first_name": "Ada", "last_name": "Lovelace", "email": "ada@contoso.example", "status": "archived"}}


def test_the_reason_names_the_group_and_the_way_to_archive():
    assert restore_reason("Tellers") == ("archived in Coconut but a member of Tellers in Entra, so restored; "
                                         "to archive them, remove them from the group in Entra")


def test_without_a_group_name_the_reason_still_says_what_to_do():
    assert restore_reason(None).startswith("archived in Coconut but in a selected Entra group, so restored; to archive them")


def test_a_hostile_group_name_cannot_break_the_line():
    assert "\n" not in restore_reason("Tellers\nok: [localhost]") and "\\n" in restore_reason("Tellers\nok: [localhost]")


def test_a_restore_change_carries_the_reason_and_the_diff_and_report_show_it():
    [change] = plan_changes(restore(), STAFF)
    assert change["action"] == "restore" and change["reason"] == restore_reason("Tellers")
    entry = render_diff([change], {"restore": 1})[1]
    assert entry["after_header"] == "restore Ada Lovelace <ada@contoso.example>, staff 7: " + restore_reason("Tellers")
    assert entry["before_header"] == "restore Ada Lovelace <ada@contoso.example>, staff 7"
    assert _why(change) == restore_reason("Tellers")
    assert "back in scope" not in _why(change)


def test_the_markdown_summary_shows_the_reason_on_the_restore_row():
    change = dict(plan_changes(restore(), STAFF)[0], label="restore")
    change["why"] = _why(change)
    change["fields"] = [{"name": "status", "label": "Status", "before": "archived", "after": "active"}]
    data = {"mode": "check", "site": "https://demo.example", "groups": [], "generated_at": None, "counts": {"restore": 1},
            "changes": [change], "conflicts": [], "possible_duplicates": [], "skipped": [],
            "users_counts": {"total": 1, "synced": 1, "unsynced": 0, "archived": 0, "duplicates": 0, "duplicate_sets": 0}}
    row = next(line for line in render_markdown(data).splitlines() if line.startswith("| restore |"))
    assert restore_reason("Tellers") in row


def test_adopting_an_archived_unsynced_staff_member_is_an_adoption_not_this_restore():
    [change] = plan_changes(restore(adopt=True), STAFF)
    assert "reason" not in change
    assert _why(change).startswith("adopted: unsynced staff member matched by")
    assert render_diff([change], {"restore": 1})[1]["after_header"].startswith("adopt (")
