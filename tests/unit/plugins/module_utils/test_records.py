"""The staff and user_group modules' logic (module_utils/records.py) against a fake Coconut: find, compare, write unless checking."""

from __future__ import annotations

import pytest

from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.records import ensure_staff, ensure_user_group


class FakeCoconut:
    def __init__(self, staff=(), user_groups=()):
        self.staff = {s["id"]: dict(s) for s in staff}
        self.user_groups = {g["id"]: dict(g) for g in user_groups}
        self.writes = []

    def get_staff(self, staff_id):
        found = self.staff.get(staff_id)
        return dict(found) if found else None

    def list_staff(self):
        return [dict(s) for s in self.staff.values()]

    def create_staff(self, fields, send_invite=False):
        self.writes.append(("create_staff", dict(fields), send_invite))
        record = dict(fields, id="new-%d" % len(self.writes))
        self.staff[record["id"]] = record
        return dict(record)

    def update_staff(self, staff_id, fields):
        self.writes.append(("update_staff", staff_id, dict(fields)))
        self.staff[staff_id].update(fields)
        return dict(self.staff[staff_id])

    def list_user_groups(self):
        return [dict(g) for g in self.user_groups.values()]

    def create_user_group(self, name, external_id=None):
        self.writes.append(("create_user_group", name, external_id))
        record = {"id": str(len(self.user_groups) + 1), "name": name, "external_id": external_id}
        self.user_groups[record["id"]] = record
        return dict(record)

    def update_user_group(self, group_id, fields):
        self.writes.append(("update_user_group", group_id, dict(fields)))
        self.user_groups[group_id].update(fields)
        return dict(self.user_groups[group_id])


ANA = {"id": "7", "first_name": "Ana", "last_name": "Silva", "email": "ana@example.com", "job_title": "Teller",
       "role": 10, "locations": ["MAIN", "EAST"], "status": "active"}


def params(**given):
    base = {name: None for name in ("id", "email", "first_name", "last_name", "job_title", "language", "role", "locations",
                                    "user_group_id")}
    base.update(state="present", send_invite=False)
    base.update(given)
    return base


# ---- staff ----------------------------------------------------------------------------------------


def test_staff_is_found_by_email_trimmed_and_case_folded_and_the_email_is_not_a_change():
    coconut = FakeCoconut([ANA])
    result = ensure_staff(coconut, params(email="  ANA@Example.com ", job_title="Teller"))
    assert result["changed"] is False and coconut.writes == []
    assert result["staff"]["id"] == "7"


def test_only_the_given_fields_that_differ_are_written():
    coconut = FakeCoconut([ANA])
    result = ensure_staff(coconut, params(id="7", job_title="Head Teller", role=10, last_name=None))
    assert coconut.writes == [("update_staff", "7", {"job_title": "Head Teller"})]
    assert result["diff"] == {"before": {"job_title": "Teller"}, "after": {"job_title": "Head Teller"}}
    assert result["changed"] is True


def test_locations_compare_as_a_set():
    coconut = FakeCoconut([ANA])
    assert ensure_staff(coconut, params(id="7", locations=["EAST", "MAIN"]))["changed"] is False
    assert coconut.writes == []


def test_with_an_id_the_email_is_a_field_to_set():
    coconut = FakeCoconut([ANA])
    ensure_staff(coconut, params(id="7", email="ana.silva@example.com"))
    assert coconut.writes == [("update_staff", "7", {"email": "ana.silva@example.com"})]


def test_archived_state_archives_and_check_mode_only_predicts_it():
    coconut = FakeCoconut([ANA])
    checked = ensure_staff(coconut, params(id="7", state="archived"), check_mode=True)
    assert checked["changed"] is True and checked["staff"]["status"] == "archived"
    assert coconut.writes == []
    ensure_staff(coconut, params(id="7", state="archived"))
    assert coconut.writes == [("update_staff", "7", {"status": "archived"})]


def test_a_new_staff_member_is_created_with_the_given_fields_and_invite_choice():
    coconut = FakeCoconut()
    result = ensure_staff(coconut, params(email="sam@example.com", first_name="Sam", last_name="Rivera", send_invite=True))
    assert coconut.writes == [("create_staff", {"email": "sam@example.com", "first_name": "Sam", "last_name": "Rivera",
                                                "status": "active"}, True)]
    assert result["changed"] is True and result["diff"]["before"] == {}


def test_check_mode_predicts_a_create_with_no_id_and_writes_nothing():
    coconut = FakeCoconut()
    result = ensure_staff(coconut, params(email="sam@example.com", first_name="Sam", last_name="Rivera"), check_mode=True)
    assert coconut.writes == [] and result["changed"] is True and result["staff"]["id"] is None


def test_creating_without_names_says_which_options_are_missing():
    coconut = FakeCoconut()
    with pytest.raises(CoconutEntraError, match="also give first_name, last_name"):
        ensure_staff(coconut, params(email="sam@example.com"))
    assert coconut.writes == []


def test_an_unknown_id_is_an_error_not_a_create():
    coconut = FakeCoconut()
    with pytest.raises(CoconutEntraError, match="no Coconut staff with id 99"):
        ensure_staff(coconut, params(id="99", email="sam@example.com", first_name="Sam", last_name="Rivera"))
    assert coconut.writes == []


def test_two_staff_with_the_email_are_an_error_naming_both():
    coconut = FakeCoconut([ANA, dict(ANA, id="8", email="Ana@example.com")])
    with pytest.raises(CoconutEntraError, match="2 Coconut staff have the email ana@example.com \\(ids 7, 8\\)"):
        ensure_staff(coconut, params(email="ana@example.com", job_title="Manager"))
    assert coconut.writes == []


# ---- staff groups ---------------------------------------------------------------------------------


def test_a_group_name_matches_ignoring_case_and_spaces_so_no_second_group_is_made():
    coconut = FakeCoconut(user_groups=[{"id": "3", "name": "Tellers", "external_id": None}])
    result = ensure_user_group(coconut, " tellers ")
    assert result["changed"] is False and result["user_group"]["id"] == "3" and coconut.writes == []


def test_a_missing_group_is_created_and_check_mode_only_predicts_it():
    coconut = FakeCoconut()
    checked = ensure_user_group(coconut, "Tellers", external_id="tellers", check_mode=True)
    assert checked["changed"] is True and checked["user_group"]["id"] is None and coconut.writes == []
    made = ensure_user_group(coconut, "Tellers", external_id="tellers")
    assert coconut.writes == [("create_user_group", "Tellers", "tellers")]
    assert made["diff"] == {"before": {}, "after": {"name": "Tellers", "external_id": "tellers"}}


def test_the_external_id_is_written_only_when_given_and_different():
    coconut = FakeCoconut(user_groups=[{"id": "3", "name": "Tellers", "external_id": "old"}])
    assert ensure_user_group(coconut, "Tellers")["changed"] is False
    assert ensure_user_group(coconut, "Tellers", external_id="old")["changed"] is False
    assert coconut.writes == []
    result = ensure_user_group(coconut, "Tellers", external_id="new")
    assert coconut.writes == [("update_user_group", "3", {"external_id": "new"})]
    assert result["diff"] == {"before": {"name": "Tellers", "external_id": "old"}, "after": {"name": "Tellers", "external_id": "new"}}


def test_two_groups_matching_the_name_are_an_error_naming_both_and_nothing_is_written():
    coconut = FakeCoconut(user_groups=[{"id": "3", "name": "Tellers"}, {"id": "4", "name": "TELLERS"}])
    with pytest.raises(CoconutEntraError, match=r"matches 2 Coconut staff groups: Tellers \(3\), TELLERS \(4\)"):
        ensure_user_group(coconut, "tellers", external_id="x")
    assert coconut.writes == []
