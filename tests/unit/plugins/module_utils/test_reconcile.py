"""The sync rules of product.md ("The sync, precisely"), one scenario each, against reconcile.plan()."""

import json

import pytest

from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.reconcile import (
    DesiredStaff,
    apply_to_records,
    archive_allowance,
    is_synced,
    normalise,
    plan,
    plan_is_empty,
    staff_object_id,
)

PLAN_KEYS = {"create", "update", "archive", "conflicts", "possible_duplicates", "skipped", "counts"}
COUNT_KEYS = {"create", "update", "archive", "restore", "adopt", "unchanged", "conflict", "possible_duplicate", "skipped"}


def user(object_id, first, last, email, display_name=None, **extra):
    fields = {"first_name": first, "last_name": last, "email": email}
    fields.update(extra)
    return DesiredStaff(object_id=object_id, display_name=display_name if display_name is not None else f"{first} {last}", fields=fields)


def staff(staff_id, first, last, email, object_id=None, status="active", **extra):
    record = {"id": staff_id, "first_name": first, "last_name": last, "email": email, "status": status,
              "integration": {"source": "entra_id", "object_id": object_id} if object_id else None}
    record.update(extra)
    return record


def plan_ok(desired, current, **kwargs):
    """A plan with the documented shape; force_archive so the scenario is not about the safety net."""
    kwargs.setdefault("force_archive", True)
    result = plan(desired, current, **kwargs)
    assert set(result) == PLAN_KEYS
    assert set(result["counts"]) == COUNT_KEYS
    json.dumps(result)  # plain data
    return result


# --- normalise, is_synced ---------------------------------------------------------------------------

def test_normalise_trims_casefolds_and_collapses_whitespace():
    assert normalise("  Ada \t  LOVELACE \n") == "ada lovelace"


def test_normalise_treats_nfc_and_nfd_accents_as_equal():
    assert normalise("Jos\u00e9") == normalise("Jose\u0301")


def test_normalise_folds_sharp_s_and_compatibility_forms():
    assert normalise("Stra\u00dfe") == normalise("STRASSE")
    assert normalise("\uff21\uff44\uff41") == "ada"  # full-width letters
    assert normalise("Ada\u00a0Lovelace") == "ada lovelace"  # no-break space


def test_normalise_of_none_is_empty():
    assert normalise(None) == ""


def test_synced_means_an_entra_id_integration():
    assert is_synced(staff("1", "A", "B", "a@x", object_id="o1"))
    assert not is_synced(staff("1", "A", "B", "a@x"))
    assert not is_synced({"id": "1", "integration": {"source": "okta", "object_id": "o1"}})
    assert staff_object_id(staff("1", "A", "B", "a@x", object_id="o1")) == "o1"
    assert staff_object_id({"id": "1", "integration": {"source": "okta", "object_id": "o1"}}) is None


# --- matching ---------------------------------------------------------------------------------------

def test_a_user_synced_before_stays_matched_by_object_id_even_after_a_rename():
    result = plan_ok([user("o1", "Ada", "Byron", "ada@new.example")], [staff("1", "Ada", "Lovelace", "ada@x", object_id="o1")])
    assert result["counts"]["create"] == 0
    [update] = result["update"]
    assert update["rule"] == "object_id" and not update["adopt"]
    assert update["before"] == {"last_name": "Lovelace", "email": "ada@x"}
    assert update["after"] == {"last_name": "Byron", "email": "ada@new.example"}


def test_rule_a_adopts_unsynced_staff_with_equal_first_last_and_email():
    result = plan_ok([user("o1", "Ada", "Lovelace", "ada@x", display_name="Countess")], [staff("1", "ada", "LOVELACE", " Ada@X ")])
    [update] = result["update"]
    assert update["rule"] == "name_and_email" and update["adopt"] is True
    assert update["before"]["integration"] is None
    assert update["after"]["integration"] == {"source": "entra_id", "object_id": "o1"}


def test_rule_b_adopts_unsynced_staff_whose_first_last_equals_the_display_name():
    result = plan_ok([user("o1", "Grace", "Hopper", "grace@new", display_name="Grace  HOPPER")], [staff("2", "Grace", "Hopper", "gh@old")])
    [update] = result["update"]
    assert update["rule"] == "display_name" and update["adopt"]
    assert update["after"]["email"] == "grace@new"


def test_object_id_wins_over_rule_a():
    current = [staff("1", "Ada", "Lovelace", "ada@x"), staff("2", "Someone", "Else", "else@x", object_id="o1")]
    result = plan_ok([user("o1", "Ada", "Lovelace", "ada@x")], current)
    [update] = result["update"]
    assert update["id"] == "2" and update["rule"] == "object_id"
    assert result["counts"]["adopt"] == 0


def test_match_order_can_put_display_name_before_name_and_email():
    current = [staff("1", "Ada", "Lovelace", "ada@x"), staff("2", "Countess", "Of Lovelace", "other@x")]
    desired = [user("o1", "Ada", "Lovelace", "ada@x", display_name="Countess of Lovelace")]
    assert plan_ok(desired, current)["update"][0]["id"] == "1"
    reordered = plan_ok(desired, current, match=["object_id", "display_name", "name_and_email"])
    assert reordered["update"][0]["id"] == "2" and reordered["update"][0]["rule"] == "display_name"


def test_a_rule_left_out_of_match_is_not_used():
    result = plan_ok([user("o1", "Grace", "Hopper", "g@new")], [staff("2", "Grace", "Hopper", "gh@old")], match=["object_id", "name_and_email"])
    assert result["update"] == []
    assert result["possible_duplicates"][0]["reason"] == "name"


@pytest.mark.parametrize("match", [["object_id", "email"], ["object_id", "display_name", "display_name"]])
def test_an_unknown_or_repeated_match_rule_is_an_error_naming_the_rules(match):
    with pytest.raises(CoconutEntraError, match="object_id followed by name_and_email and/or display_name"):
        plan([], [], match=match)


@pytest.mark.parametrize("match", [[], ["name_and_email"], ["display_name", "object_id"]])
def test_object_id_must_come_first_or_every_run_would_create_synced_users_again(match):
    with pytest.raises(CoconutEntraError, match="object_id comes first"):
        plan([], [], match=match)


def test_object_id_alone_adopts_nobody():
    result = plan_ok([user("o1", "Ada", "Lovelace", "ada@x")], [staff("1", "Ada", "Lovelace", "ada@x")], match=["object_id"])
    assert result["update"] == [] and result["possible_duplicates"][0]["reason"] == "email"


def test_rules_a_and_b_never_adopt_staff_synced_to_another_user():
    current = [staff("1", "Ada", "Lovelace", "ada@x", object_id="someone-else")]
    result = plan_ok([user("o1", "Ada", "Lovelace", "ada@x")], current)
    assert result["update"] == [] and result["counts"]["create"] == 1
    assert result["possible_duplicates"] == []  # only unsynced staff count as possible duplicates


def test_matching_normalises_accents_case_and_sharp_s():
    current = [staff("1", "Jose\u0301", "Strasse", "JOSE@X")]
    result = plan_ok([user("o1", "Jos\u00e9", "Stra\u00dfe", "jose@x")], current)
    [update] = result["update"]
    assert update["rule"] == "name_and_email"


def test_adopting_takes_entras_exact_values_so_padded_upper_case_ada_becomes_ada():
    result = plan_ok([user("o1", "Ada", "Lovelace", "ada@x")], [staff("1", " ADA", "Lovelace", "ada@x")])
    [update] = result["update"]
    assert update["before"]["first_name"] == " ADA" and update["after"]["first_name"] == "Ada"
    assert "last_name" not in update["after"] and "email" not in update["after"]


def test_updating_compares_exactly_so_a_case_change_in_entra_is_written():
    result = plan_ok([user("o1", "ada", "Lovelace", "ada@x")], [staff("1", "Ada", "Lovelace", "ada@x", object_id="o1")])
    assert result["update"][0]["after"] == {"first_name": "ada"}


def test_fields_not_in_desired_are_never_written():
    current = [staff("1", "Ada", "Lovelace", "ada@x", object_id="o1", job_title="Countess", language="fr")]
    result = plan_ok([user("o1", "Ada", "Lovelace", "ada@x")], current)
    assert result["update"] == [] and result["counts"]["unchanged"] == 1


def test_active_candidates_win_over_archived_ones():
    current = [staff("1", "Ada", "Lovelace", "ada@x", status="archived"), staff("2", "Ada", "Lovelace", "ada@x")]
    result = plan_ok([user("o1", "Ada", "Lovelace", "ada@x")], current)
    assert result["conflicts"] == []
    assert result["update"][0]["id"] == "2" and not result["update"][0]["restore"]


def test_adopting_an_archived_unsynced_staff_member_restores_them():
    result = plan_ok([user("o1", "Ada", "Lovelace", "ada@x")], [staff("1", "Ada", "Lovelace", "ada@x", status="archived")])
    [update] = result["update"]
    assert update["adopt"] and update["restore"]
    assert update["before"]["status"] == "archived" and update["after"]["status"] == "active"
    assert result["counts"]["restore"] == 1 and result["counts"]["update"] == 0 and result["counts"]["adopt"] == 1


# --- conflicts --------------------------------------------------------------------------------------

def test_several_candidates_at_one_rule_is_a_conflict_and_nothing_is_written_for_that_user():
    current = [staff("1", "Ada", "Lovelace", "ada@x"), staff("2", "ADA", "lovelace", "ada@x ")]
    result = plan_ok([user("o1", "Ada", "Lovelace", "ada@x")], current)
    assert result["create"] == [] and result["update"] == []
    [conflict] = result["conflicts"]
    assert conflict == {"object_id": "o1", "display_name": "Ada Lovelace", "email": "ada@x", "rule": "name_and_email", "candidates": ["1", "2"]}


def test_a_conflict_does_not_fall_through_to_later_rules():
    current = [staff("1", "Ada", "Lovelace", "ada@x"), staff("2", "Ada", "Lovelace", "ada@x"), staff("3", "Countess", "Ada", "c@x")]
    result = plan_ok([user("o1", "Ada", "Lovelace", "ada@x", display_name="Countess Ada")], current)
    assert result["counts"]["conflict"] == 1 and result["update"] == []


def test_two_users_claiming_one_staff_member_are_both_conflicts():
    current = [staff("1", "Ada", "Lovelace", "shared@x")]
    desired = [user("o1", "Ada", "Lovelace", "ada1@x"), user("o2", "Ada", "Lovelace", "ada2@x")]
    result = plan_ok(desired, current)
    assert [c["object_id"] for c in result["conflicts"]] == ["o1", "o2"]
    assert all(c["candidates"] == ["1"] for c in result["conflicts"])
    assert result["conflicts"][0]["shared_with"] == ["o2"]
    assert result["create"] == [] and result["update"] == []


def test_two_synced_staff_with_the_same_object_id_are_a_conflict_and_neither_is_archived():
    current = [staff("1", "Ada", "Lovelace", "ada@x", object_id="o1"), staff("2", "Ada", "Lovelace", "ada@x", object_id="o1")]
    result = plan_ok([user("o1", "Ada", "Lovelace", "ada@x")], current)
    assert result["conflicts"][0]["rule"] == "object_id" and result["conflicts"][0]["candidates"] == ["1", "2"]
    assert result["archive"] == []


# --- possible duplicates ----------------------------------------------------------------------------

def test_no_match_but_unsynced_staff_shares_the_email_is_reported_not_created():
    current = [staff("1", "Augusta", "King", "ADA@x")]
    result = plan_ok([user("o1", "Ada", "Lovelace", "ada@x")], current)
    assert result["create"] == []
    assert result["possible_duplicates"] == [{"object_id": "o1", "display_name": "Ada Lovelace", "email": "ada@x", "reason": "email",
                                              "candidates": ["1"], "created": False}]
    assert result["counts"]["possible_duplicate"] == 1


def test_no_match_but_unsynced_archived_staff_shares_the_first_and_last_name_is_reported():
    current = [staff("1", "Ada", " Lovelace", "old@x", status="archived")]
    result = plan_ok([user("o1", "Ada", "Lovelace", "ada@x", display_name="A. Lovelace")], current)
    assert result["possible_duplicates"][0]["reason"] == "name"
    assert result["possible_duplicates"][0]["candidates"] == ["1"]


def test_possible_duplicates_create_creates_anyway_and_still_lists_them():
    current = [staff("1", "Augusta", "King", "ada@x")]
    result = plan_ok([user("o1", "Ada", "Lovelace", "ada@x")], current, possible_duplicates="create")
    assert [c["object_id"] for c in result["create"]] == ["o1"]
    assert result["possible_duplicates"][0]["created"] is True
    assert current[0]["integration"] is None and result["update"] == []


def test_possible_duplicates_must_be_report_or_create():
    with pytest.raises(CoconutEntraError, match="report or create"):
        plan([], [], possible_duplicates="merge")


# --- create -----------------------------------------------------------------------------------------

def test_a_user_matching_nobody_is_created_marked_synced_with_its_object_id():
    desired = [user("o1", "Ada", "Lovelace", "ada@x", job_title="Countess", role=10, locations=["L1"], user_group_id="7")]
    result = plan_ok(desired, [])
    assert result["create"] == [{"object_id": "o1", "display_name": "Ada Lovelace", "fields": {
        "first_name": "Ada", "last_name": "Lovelace", "email": "ada@x", "job_title": "Countess", "role": 10, "locations": ["L1"],
        "user_group_id": "7", "integration": {"source": "entra_id", "object_id": "o1"}}}]


def test_a_user_listed_twice_is_planned_once_with_the_first_entry():
    desired = [user("o1", "Ada", "Lovelace", "ada@x", role=20), user("o1", "Ada", "Lovelace", "ada@x", role=10)]
    result = plan_ok(desired, [])
    assert len(result["create"]) == 1 and result["create"][0]["fields"]["role"] == 20


# --- archive and restore ----------------------------------------------------------------------------

def test_synced_staff_removed_from_the_groups_disabled_or_deleted_are_archived():
    # Disabled and deleted users, like removed ones, are simply not among the desired users.
    current = [staff("1", "Ada", "Lovelace", "ada@x", object_id="o1"), staff("2", "Removed", "User", "r@x", object_id="o2"),
               staff("3", "Disabled", "User", "d@x", object_id="o3"), staff("4", "Deleted", "User", "del@x", object_id="o4")]
    result = plan_ok([user("o1", "Ada", "Lovelace", "ada@x")], current)
    assert [(a["id"], a["reason"]) for a in result["archive"]] == [("2", "out_of_scope"), ("3", "out_of_scope"), ("4", "out_of_scope")]
    assert result["archive"][0] == {"id": "2", "object_id": "o2", "display_name": "Removed User", "reason": "out_of_scope",
                                    "before": {"status": "active"}, "after": {"status": "archived"}}


def test_synced_staff_already_archived_and_out_of_scope_stay_as_they_are():
    result = plan_ok([], [staff("1", "Gone", "User", "g@x", object_id="o1", status="archived")])
    assert plan_is_empty(result)


def test_synced_staff_archived_by_hand_but_still_in_scope_are_restored():
    current = [staff("1", "Katherine", "Johnson", "kj@x", object_id="o1", status="archived")]
    result = plan_ok([user("o1", "Katherine", "Johnson", "kj@x")], current)
    [update] = result["update"]
    assert update["restore"] and not update["adopt"]
    assert update["before"] == {"status": "archived"} and update["after"] == {"status": "active"}
    assert result["counts"]["restore"] == 1


def test_unsynced_staff_are_never_changed_unless_adopted():
    current = [staff("1", "Manual", "Entry", "m@x"), staff("2", "Another", "Manual", "a@x", status="archived")]
    result = plan_ok([user("o1", "Ada", "Lovelace", "ada@x")], current)
    assert result["update"] == [] and result["archive"] == []
    assert [c["object_id"] for c in result["create"]] == ["o1"]


def test_object_ids_compare_case_insensitively():
    current = [staff("1", "Ada", "Lovelace", "ada@x", object_id="ABCDEF-01")]
    result = plan_ok([user("abcdef-01", "Ada", "Lovelace", "ada@x")], current)
    assert result["archive"] == [] and result["counts"]["unchanged"] == 1


# --- safety -----------------------------------------------------------------------------------------

def synced_staff(count):
    return [staff(str(i), f"First{i}", f"Last{i}", f"u{i}@x", object_id=f"o{i}") for i in range(count)]


def desired_for(records):
    return [user(r["integration"]["object_id"], r["first_name"], r["last_name"], r["email"]) for r in records]


def test_archives_above_a_percentage_threshold_fail_the_plan_naming_number_threshold_and_fix():
    current = synced_staff(100)
    with pytest.raises(CoconutEntraError) as failure:
        plan(desired_for(current[11:]), current, archive_threshold="10%")
    message = failure.value.msg
    assert "archive 11 staff" in message and "10%" in message and "10 of 100" in message
    assert "coconut_force_archive: true" in message and "coconut_archive_threshold" in message
    assert failure.value.details["archive"] == 11 and failure.value.details["allowed"] == 10


def test_archives_at_the_percentage_threshold_pass():
    current = synced_staff(100)
    assert plan(desired_for(current[10:]), current, archive_threshold="10%")["counts"]["archive"] == 10


def test_a_count_threshold_allows_exactly_that_many_archives():
    current = synced_staff(20)
    assert plan(desired_for(current[3:]), current, archive_threshold=3)["counts"]["archive"] == 3
    with pytest.raises(CoconutEntraError, match="archive 4 staff"):
        plan(desired_for(current[4:]), current, archive_threshold=3)


def test_a_percentage_allows_at_least_one_archive():
    current = synced_staff(5)
    assert plan(desired_for(current[1:]), current, archive_threshold="10%")["counts"]["archive"] == 1


def test_force_archive_lets_a_big_archive_through():
    current = synced_staff(10)
    assert plan(desired_for(current[:2]), current, force_archive=True)["counts"]["archive"] == 8


def test_archive_allowance_rounds_percentages_down_and_rejects_nonsense():
    assert archive_allowance("10%", 99) == 9
    assert archive_allowance("12.5%", 80) == 10
    assert archive_allowance("0%", 1000) == 0
    assert archive_allowance("7", 0) == 7
    for bad in ("ten", "-1", -1, True, "10%%", None):
        with pytest.raises(CoconutEntraError, match="coconut_archive_threshold"):
            archive_allowance(bad, 10)


def test_an_empty_scope_with_synced_staff_fails_even_under_the_threshold():
    with pytest.raises(CoconutEntraError, match="no enabled users.*would be archived"):
        plan([], synced_staff(1), archive_threshold=100)


def test_an_empty_scope_with_force_archive_archives_everyone():
    assert plan([], synced_staff(3), force_archive=True)["counts"]["archive"] == 3


def test_an_empty_scope_without_synced_staff_is_fine():
    assert plan_is_empty(plan([], [staff("1", "Manual", "Entry", "m@x")]))


# --- skipped users ----------------------------------------------------------------------------------

def test_skipped_users_are_never_created_updated_or_archived():
    current = [staff("1", "Ada", "Old", "ada@x", object_id="o1"), staff("2", "Bob", "Old", "bob@x", object_id="o2")]
    skipped = [{"object_id": "o1", "display_name": "Ada Lovelace", "errors": [{"field": "email", "message": "missing"}]}, "o3"]
    desired = [user("o1", "Ada", "New", "ada@x"), user("o2", "Bob", "Old", "bob@x"), user("o3", "Carl", "New", "c@x")]
    result = plan_ok(desired, current, skipped=skipped)
    assert result["create"] == [] and result["update"] == [] and result["archive"] == []
    assert [s["object_id"] for s in result["skipped"]] == ["o1", "o3"]
    assert result["skipped"][0]["errors"] == [{"field": "email", "message": "missing"}]
    assert result["counts"]["skipped"] == 2 and result["counts"]["unchanged"] == 1


def test_a_scope_of_only_skipped_users_is_not_an_empty_scope():
    current = synced_staff(1)
    result = plan([], current, skipped=["o0"])
    assert plan_is_empty(result)


# --- per-group extras -------------------------------------------------------------------------------

def test_locations_compare_as_sets_and_the_desired_list_is_written():
    current = [staff("1", "Ada", "Lovelace", "ada@x", object_id="o1", locations=["B", "A"])]
    assert plan_ok([user("o1", "Ada", "Lovelace", "ada@x", locations=["A", "B"])], current)["update"] == []
    result = plan_ok([user("o1", "Ada", "Lovelace", "ada@x", locations=["C", "A"])], current)
    assert result["update"][0]["before"] == {"locations": ["B", "A"]} and result["update"][0]["after"] == {"locations": ["C", "A"]}


def test_a_placeholder_user_group_differs_from_any_real_id_and_is_written_as_is():
    current = [staff("1", "Ada", "Lovelace", "ada@x", object_id="o1", user_group_id="12")]
    result = plan_ok([user("o1", "Ada", "Lovelace", "ada@x", user_group_id="new:Tellers")], current)
    assert result["update"][0]["after"] == {"user_group_id": "new:Tellers"}
    created = plan_ok([user("o2", "Bob", "B", "b@x", user_group_id="new:Tellers")], [])["create"][0]
    assert created["fields"]["user_group_id"] == "new:Tellers"


def test_role_and_user_group_ids_compare_as_text():
    current = [staff("1", "Ada", "Lovelace", "ada@x", object_id="o1", role="20", user_group_id=12)]
    assert plan_ok([user("o1", "Ada", "Lovelace", "ada@x", role=20, user_group_id="12")], current)["update"] == []


# --- archive_unsynced_duplicates --------------------------------------------------------------------

def test_archive_unsynced_duplicates_archives_unsynced_staff_sharing_email_or_name_with_a_synced_one():
    current = [staff("1", "Ada", "Lovelace", "ada@x", object_id="o1"),
               staff("2", "Augusta", "King", "ADA@x"),        # same email
               staff("3", "ada", "lovelace", "other@x"),      # same name
               staff("4", "Unrelated", "Person", "u@x"),
               staff("5", "Ada", "Lovelace", "ada@x", status="archived")]  # already archived
    result = plan_ok([user("o1", "Ada", "Lovelace", "ada@x")], current, archive_unsynced_duplicates=True)
    archived = [(a["id"], a["reason"], a["object_id"]) for a in result["archive"]]
    assert archived == [("2", "unsynced_duplicate", None), ("3", "unsynced_duplicate", None)]


def test_archive_unsynced_duplicates_is_off_by_default():
    current = [staff("1", "Ada", "Lovelace", "ada@x", object_id="o1"), staff("2", "Augusta", "King", "ada@x")]
    assert plan_ok([user("o1", "Ada", "Lovelace", "ada@x")], current)["archive"] == []


def test_archive_unsynced_duplicates_never_archives_the_adopted_staff_member():
    current = [staff("1", "Ada", "Lovelace", "ada@x")]
    result = plan_ok([user("o1", "Ada", "Lovelace", "ada@x")], current, archive_unsynced_duplicates=True)
    assert result["update"][0]["adopt"] and result["archive"] == []


def test_archive_unsynced_duplicates_looks_at_the_values_after_the_plan():
    # Synced Ada's email changes to the unsynced staff member's: after this run they are duplicates.
    current = [staff("1", "Ada", "Lovelace", "old@x", object_id="o1"), staff("2", "Augusta", "King", "new@x")]
    result = plan_ok([user("o1", "Ada", "Lovelace", "new@x", display_name="Ada L")], current, archive_unsynced_duplicates=True)
    assert [a["id"] for a in result["archive"]] == ["2"]


def test_archive_unsynced_duplicates_ignores_synced_staff_being_archived():
    current = [staff("1", "Ada", "Lovelace", "ada@x", object_id="o1"), staff("2", "Ada", "Lovelace", "ada2@x")]
    result = plan_ok([], current, archive_unsynced_duplicates=True)
    assert [(a["id"], a["reason"]) for a in result["archive"]] == [("1", "out_of_scope")]


def test_unsynced_duplicate_archives_count_toward_the_threshold():
    current = synced_staff(10) + [staff(f"u{i}", f"First{i}", f"Last{i}", f"dup{i}@x") for i in range(2)]
    with pytest.raises(CoconutEntraError, match="archive 2 staff"):
        plan(desired_for(current[:10]), current, archive_threshold=1, archive_unsynced_duplicates=True)


# --- counts, apply_to_records, emptiness ------------------------------------------------------------

def test_counts_add_up_per_action():
    current = [staff("1", "Same", "User", "s@x", object_id="o1"), staff("2", "Old", "Name", "o@x", object_id="o2"),
               staff("3", "Back", "Again", "b@x", object_id="o3", status="archived"), staff("4", "Gone", "User", "g@x", object_id="o4"),
               staff("5", "Ada", "Lovelace", "ada@x")]
    desired = [user("o1", "Same", "User", "s@x"), user("o2", "New", "Name", "o@x"), user("o3", "Back", "Again", "b@x"),
               user("o5", "Ada", "Lovelace", "ada@x"), user("o6", "Brand", "New", "n@x")]
    assert plan_ok(desired, current)["counts"] == {"create": 1, "update": 2, "archive": 1, "restore": 1, "adopt": 1, "unchanged": 1,
                                                   "conflict": 0, "possible_duplicate": 0, "skipped": 0}


def test_applying_the_plan_then_planning_again_writes_nothing():
    current = [staff("1", " ADA", "Lovelace", "ada@x"), staff("2", "Gone", "User", "g@x", object_id="o9"),
               staff("3", "Back", "Again", "b@x", object_id="o3", status="archived")]
    desired = [user("o1", "Ada", "Lovelace", "ada@x", locations=["L2", "L1"]), user("o3", "Back", "Again", "b@x"),
               user("o4", "New", "Person", "n@x", user_group_id="new:Tellers")]
    first = plan_ok(desired, current)
    after = apply_to_records(current, first)
    assert [r["id"] for r in after] == ["1", "2", "3", "new-1"]
    assert after[0]["first_name"] == "Ada" and is_synced(after[0]) and after[1]["status"] == "archived" and after[2]["status"] == "active"
    second = plan_ok(desired, after)
    assert plan_is_empty(second) and second["counts"]["unchanged"] == 3


def test_apply_to_records_does_not_touch_its_input():
    current = [staff("1", "Old", "Name", "o@x", object_id="o1")]
    apply_to_records(current, plan_ok([user("o1", "New", "Name", "o@x")], current))
    assert current[0]["first_name"] == "Old"


def test_conflicts_and_possible_duplicates_alone_leave_the_plan_empty():
    current = [staff("1", "Ada", "Lovelace", "ada@x"), staff("2", "Ada", "Lovelace", "ada@x"), staff("3", "Bob", "B", "bob@x")]
    result = plan_ok([user("o1", "Ada", "Lovelace", "ada@x"), user("o2", "Robert", "Brown", "bob@x")], current)
    assert result["counts"]["conflict"] == 1 and result["counts"]["possible_duplicate"] == 1
    assert plan_is_empty(result)


def test_plan_accepts_desired_staff_as_plain_dicts():
    result = plan_ok([{"object_id": "o1", "display_name": "Ada", "fields": {"first_name": "Ada", "last_name": "L", "email": "a@x"}}], [])
    assert result["counts"]["create"] == 1


def test_identical_candidates_are_shared_out_once_one_is_adopted_by_another_user():
    # Two identical unsynced staff; Ada (rule A) takes one, so Countess Ada's rule B conflict resolves to the other one,
    # exactly as the next run would see it.
    current = [staff("1", "Ada", "Lovelace", "ada@x"), staff("2", "Ada", "Lovelace", "other@x")]
    desired = [user("o1", "Ada", "Lovelace", "ada@x"), user("o2", "Augusta", "King", "ak@x", display_name="Ada Lovelace")]
    result = plan_ok(desired, current)
    assert result["conflicts"] == []
    assert [(u["object_id"], u["id"], u["rule"]) for u in result["update"]] == [("o1", "1", "name_and_email"), ("o2", "2", "display_name")]


def test_a_possible_duplicate_created_anyway_lets_archive_unsynced_duplicates_archive_the_old_record():
    current = [staff("1", "Ada", "Lovelace", "ada@x")]
    result = plan_ok([user("o1", "Ada", "Lovelace", "ada@x")], current, match=["object_id"], possible_duplicates="create",
                     archive_unsynced_duplicates=True)
    assert [c["object_id"] for c in result["create"]] == ["o1"]
    assert [(a["id"], a["reason"]) for a in result["archive"]] == [("1", "unsynced_duplicate")]


def test_candidates_of_a_reported_possible_duplicate_are_left_for_a_person_to_decide():
    current = [staff("1", "Ada", "Lovelace", "ada@x", object_id="o1"), staff("2", "Augusta", "King", "ak@x")]
    desired = [user("o1", "Ada", "Lovelace", "ada@x"), user("o2", "Augusta", "King", "augusta@x", display_name="Augusta Ada King")]
    result = plan_ok(desired, current, archive_unsynced_duplicates=True)
    assert result["possible_duplicates"][0]["candidates"] == ["2"]
    assert result["archive"] == []
