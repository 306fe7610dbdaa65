"""The CI gates have one home (sync.ci_gates): the module's fail_on_* options and sync.yml's check-mode tasks fail with
the messages it makes. The playbook tests (tests/integration/test_ci_gate.py) pin the messages end to end."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ansible_collections.coconut.entra.plugins.module_utils.sync import ci_gates, tripped_gate


def plan(create=0, update=0, restore=0, archive=0, conflicts=0, duplicates=0):
    updates = [{"restore": False}] * update + [{"restore": True}] * restore
    result = {"create": [{}] * create, "update": updates, "archive": [{}] * archive,
              "conflicts": [{}] * conflicts, "possible_duplicates": [{}] * duplicates}
    counts = {"create": create, "update": update, "restore": restore, "archive": archive}
    return result, counts


def test_an_empty_plan_passes_both_gates():
    assert ci_gates(*plan()) == {"conflicts": None, "drift": None}


def test_drift_names_the_nonzero_counts_in_a_fixed_order():
    gates = ci_gates(*plan(create=1, update=3, restore=1, archive=2))
    assert gates["drift"] == ("drift: Coconut differs from Entra (1 create, 3 update, 1 restore, 2 archive); "
                              "run sync.yml without --check to apply")
    assert ci_gates(*plan(archive=4))["drift"] == "drift: Coconut differs from Entra (4 archive); run sync.yml without --check to apply"


def test_a_possible_duplicate_alone_trips_the_conflicts_gate_but_not_drift():
    gates = ci_gates(*plan(duplicates=1))
    assert gates == {"conflicts": "0 conflict(s) and 1 possible duplicate(s) need a decision (coconut_fail_on_conflicts is true); "
                                  "nothing was written", "drift": None}


@pytest.mark.parametrize(("options", "check_mode", "expected"), [
    ({}, True, None),
    ({"fail_on_drift": True}, True, "drift"),
    ({"fail_on_drift": True}, False, None),  # a real run applies: drift is what it fixes
    ({"fail_on_conflicts": True}, False, "conflicts"),
    ({"fail_on_conflicts": True, "fail_on_drift": True}, True, "conflicts"),
])
def test_the_modules_options_pick_which_gate_fails(options, check_mode, expected):
    gates = ci_gates(*plan(create=1, conflicts=1))
    assert tripped_gate(gates, options, check_mode) == (gates[expected] if expected else None)


def test_the_drift_gate_does_not_fail_without_drift():
    assert tripped_gate(ci_gates(*plan(conflicts=1)), {"fail_on_drift": True}, True) is None


def test_sync_yml_fails_with_the_modules_messages_and_has_no_copy_of_them():
    tasks = yaml.safe_load((Path(__file__).resolve().parents[4] / "playbooks" / "sync.yml").read_text(encoding="utf-8"))[0]["tasks"]
    gates = {t["name"]: t for t in tasks if "ansible.builtin.fail" in t}
    assert sorted(t["ansible.builtin.fail"]["msg"] for t in gates.values()) == [
        "{{ coconut_sync.ci_gates.conflicts }}", "{{ coconut_sync.ci_gates.drift }}"]
