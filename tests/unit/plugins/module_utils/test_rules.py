"""The sync's choices and action names have one home (module_utils/rules.py): staff_sync's spec and docs, the
planner, the mapping, the CI gates, the diff and the report all follow it."""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.coconut.entra.plugins.module_utils import diff, report, rules
from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.mapping import Mapping, map_users
from ansible_collections.coconut.entra.plugins.module_utils.reconcile import DesiredStaff, check_match, plan
from ansible_collections.coconut.entra.plugins.module_utils.sync import ci_gates
from ansible_collections.coconut.entra.plugins.modules import staff_sync

OPTIONS = yaml.safe_load(staff_sync.DOCUMENTATION)["options"]


@pytest.mark.parametrize("option, choices, default", [
    ("match", list(rules.MATCH_RULES), list(rules.MATCH_RULES)),
    ("possible_duplicates", list(rules.POSSIBLE_DUPLICATE_CHOICES), rules.POSSIBLE_DUPLICATES_DEFAULT),
    ("invalid_users", list(rules.INVALID_USER_CHOICES), rules.INVALID_USERS_DEFAULT),
])
def test_staff_sync_documents_the_choices_and_default_its_spec_takes_from_rules(option, choices, default):
    assert OPTIONS[option]["choices"] == choices
    assert OPTIONS[option]["default"] == default


def test_the_planner_accepts_every_match_rule_and_every_possible_duplicates_choice():
    assert check_match(rules.MATCH_RULES) == rules.MATCH_RULES
    for choice in rules.POSSIBLE_DUPLICATE_CHOICES:
        plan([], [], possible_duplicates=choice)
    with pytest.raises(CoconutEntraError, match=r"coconut_possible_duplicates must be report or create; got 'merge'"):
        plan([], [], possible_duplicates="merge")


def test_the_mapping_accepts_every_invalid_users_choice_and_names_them_when_refusing():
    for choice in rules.INVALID_USER_CHOICES:
        map_users(Mapping({}), [], invalid_users=choice)
    with pytest.raises(CoconutEntraError, match=r"coconut_invalid_users must be fail or skip; got 'ignore'"):
        map_users(Mapping({}), [], invalid_users="ignore")


def _one_of_each():
    """A plan with one create, one update, one restore and one archive."""
    def desired(oid, first):
        fields = {"first_name": first, "last_name": "Doe", "email": f"{first.lower()}@example.com"}
        return DesiredStaff(object_id=oid, display_name=f"{first} Doe", fields=fields)

    def staff(sid, oid, first, status="active", email=None):
        return {"id": sid, "first_name": first, "last_name": "Doe", "email": email or f"{first.lower()}@example.com",
                "status": status, "integration": {"source": "entra_id", "object_id": oid}}
    return plan([desired("o-new", "Ann"), desired("o-upd", "Bob"), desired("o-back", "Cy")],
                [staff("1", "o-upd", "Bob", email="old@example.com"), staff("2", "o-back", "Cy", status="archived"),
                 staff("3", "o-gone", "Di")], force_archive=True)


def test_every_action_is_counted_by_the_planner_shown_by_the_diff_and_labelled_by_the_report():
    result = _one_of_each()
    assert {action: result["counts"][action] for action in rules.ACTIONS} == dict.fromkeys(rules.ACTIONS, 1)
    assert sorted(change["action"] for change in diff.plan_changes(result)) == sorted(rules.ACTIONS)
    assert diff.summary_line(result["counts"]).startswith("coconut.entra plan: 1 create, 1 update, 1 restore, 1 archive")
    assert [key for key, _label in report.COUNT_LABELS[:len(rules.ACTIONS)]] == list(rules.ACTIONS)


def test_the_drift_gate_names_the_actions_in_the_same_order_as_the_diff():
    result = _one_of_each()
    assert "(1 create, 1 update, 1 restore, 1 archive)" in ci_gates(result, result["counts"])["drift"]
