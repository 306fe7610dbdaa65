"""Properties of reconcile.plan() over generated staff lists and Entra users with tricky names.

Names come from a small pool in many spellings (case, NFC vs NFD accents, padding, doubled inner spaces,
ß vs SS, full-width letters) so that matches, conflicts and possible duplicates are frequent.
"""

import json
import math
import os
import unicodedata

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.reconcile import (
    MATCH_RULES,
    DesiredStaff,
    apply_to_records,
    is_synced,
    normalise,
    plan,
    plan_is_empty,
    staff_object_id,
)

# RECONCILE_EXAMPLES=5000 for a longer hunt.
SETTINGS = settings(max_examples=int(os.environ.get("RECONCILE_EXAMPLES", "200")), deadline=None, suppress_health_check=[HealthCheck.too_slow])

FIRST = ["Ada", "José", "Zoë", "Jürgen", "Li"]
LAST = ["Lovelace", "Strauß", "Núñez", "Van der Berg"]
EMAILS = ["ada@contoso.example", "jose@contoso.example", "li@contoso.example", "shared@contoso.example"]
OBJECT_IDS = ["0a1b", "1c2d", "2e3f", "3a4b", "4c5d", "5e6f", "6a7b", "7c8d"]
LOCATIONS = ["L1", "L2", "L3"]
USER_GROUPS = [None, "11", "12", "new:Tellers"]


def spellings(text):
    nfd = unicodedata.normalize("NFD", text)
    variants = [text, text.upper(), text.lower(), f"  {text}", f"{text} ", nfd, text.replace(" ", "  "),
                text.replace("ß", "SS"), text.replace("ß", "ss"), text.swapcase()]
    if text.isascii():
        variants.append("".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text))  # full-width forms
    return variants


def spelled(pool):
    return st.sampled_from(pool).flatmap(lambda text: st.sampled_from(spellings(text)))


object_ids = st.sampled_from(OBJECT_IDS).flatmap(lambda oid: st.sampled_from([oid, oid.upper()]))
locations = st.none() | st.lists(st.sampled_from(LOCATIONS), max_size=3)


@st.composite
def staff_lists(draw):
    records = []
    for number in range(draw(st.integers(0, 10))):
        kind = draw(st.sampled_from(["unsynced", "synced", "synced", "other_source"]))
        integration = None
        if kind == "synced":
            integration = {"source": "entra_id", "object_id": draw(object_ids)}
        elif kind == "other_source":
            integration = {"source": "okta", "object_id": draw(object_ids)}
        records.append({
            "id": str(100 + number),
            "first_name": draw(spelled(FIRST)),
            "last_name": draw(spelled(LAST)),
            "email": draw(spelled(EMAILS)),
            "job_title": draw(st.sampled_from([None, "Teller", "teller"])),
            "status": draw(st.sampled_from(["active", "active", "archived"])),
            "locations": draw(locations),
            "user_group_id": draw(st.sampled_from(USER_GROUPS)),
            "role": draw(st.sampled_from([None, 10, "20"])),
            "integration": integration,
        })
    return records


@st.composite
def desired_lists(draw):
    ids = draw(st.lists(object_ids, max_size=8, unique_by=normalise))
    users = []
    for object_id in ids:
        first, last = draw(spelled(FIRST)), draw(spelled(LAST))
        fields = {"first_name": first, "last_name": last, "email": draw(spelled(EMAILS))}
        if draw(st.booleans()):
            fields["job_title"] = draw(st.sampled_from([None, "Teller", "Manager"]))
        if draw(st.booleans()):
            fields["locations"] = draw(st.lists(st.sampled_from(LOCATIONS), max_size=3, unique=True))
        if draw(st.booleans()):
            fields["user_group_id"] = draw(st.sampled_from(USER_GROUPS[1:]))
        if draw(st.booleans()):
            fields["role"] = draw(st.sampled_from([10, 20]))
        display_name = draw(st.sampled_from([f"{first} {last}", f"{last}, {first}", None]) | spelled(FIRST))
        users.append(DesiredStaff(object_id=object_id, display_name=display_name, fields=fields))
    return users


options = st.fixed_dictionaries({
    "match": st.permutations(MATCH_RULES[1:]).flatmap(lambda rules: st.integers(0, 2).map(lambda n: ("object_id",) + tuple(rules[:n]))),
    "possible_duplicates": st.sampled_from(["report", "create"]),
    "archive_unsynced_duplicates": st.booleans(),
})


def skipped_from(desired, draw_mask):
    return [user.object_id for user, skip in zip(desired, draw_mask, strict=False) if skip]


scenario = st.tuples(desired_lists(), staff_lists(), options, st.lists(st.booleans(), min_size=8, max_size=8))


def planned(desired, staff, opts, mask):
    skipped = skipped_from(desired, mask)
    return plan(desired, staff, force_archive=True, skipped=skipped, **opts), skipped


@SETTINGS
@given(scenario)
def test_plan_then_apply_then_plan_again_writes_nothing(case):
    desired, staff, opts, mask = case
    first, skipped = planned(desired, staff, opts, mask)
    after = apply_to_records(staff, first)
    second = plan(desired, after, force_archive=True, skipped=skipped, **opts)
    assert plan_is_empty(second), json.dumps(second, indent=1, ensure_ascii=False)


@SETTINGS
@given(scenario)
def test_every_desired_user_lands_in_exactly_one_outcome(case):
    desired, staff, opts, mask = case
    result, skipped = planned(desired, staff, opts, mask)
    updated = {item["object_id"] for item in result["update"]}
    created = [item["object_id"] for item in result["create"]]
    reported = [item["object_id"] for item in result["possible_duplicates"] if not item["created"]]
    conflicts = [item["object_id"] for item in result["conflicts"]]
    skipped_ids = [item["object_id"] for item in result["skipped"]]
    unchanged = [user.object_id for user in desired
                 if user.object_id not in updated | set(created) | set(reported) | set(conflicts) | set(skipped_ids)]
    outcomes = created + list(updated) + reported + conflicts + skipped_ids + unchanged
    assert sorted(outcomes) == sorted(user.object_id for user in desired)
    assert len(unchanged) == result["counts"]["unchanged"]
    assert len(updated) == len(result["update"])


@SETTINGS
@given(scenario)
def test_no_user_is_both_created_and_matched(case):
    desired, staff, opts, mask = case
    result, _unused = planned(desired, staff, opts, mask)
    assert not {c["object_id"] for c in result["create"]} & {u["object_id"] for u in result["update"]}


@SETTINGS
@given(scenario)
def test_conflicts_possible_duplicates_and_skipped_users_are_never_written(case):
    desired, staff, opts, mask = case
    result, skipped = planned(desired, staff, opts, mask)
    untouchable = {c["object_id"] for c in result["conflicts"]} | {normalise(s) for s in skipped} | \
        {d["object_id"] for d in result["possible_duplicates"] if not d["created"]}
    written = {u["object_id"] for u in result["update"]} | {c["object_id"] for c in result["create"]}
    assert not written & untouchable
    skipped_keys = {normalise(s) for s in skipped}
    assert not [a for a in result["archive"] if normalise(a["object_id"]) in skipped_keys]
    for item in result["conflicts"] + result["possible_duplicates"]:
        candidates = set(item["candidates"])
        assert not candidates & {u["id"] for u in result["update"] if u["adopt"]} or item in result["possible_duplicates"]


@SETTINGS
@given(scenario)
def test_only_synced_active_staff_out_of_scope_are_archived_as_out_of_scope(case):
    desired, staff, opts, mask = case
    result, skipped = planned(desired, staff, opts, mask)
    by_id = {member["id"]: member for member in staff}
    scope = {normalise(user.object_id) for user in desired} | {normalise(s) for s in skipped}
    for item in result["archive"]:
        member = by_id[item["id"]]
        assert member["status"] == "active"
        if item["reason"] == "out_of_scope":
            assert is_synced(member) and normalise(staff_object_id(member)) not in scope
        else:
            assert item["reason"] == "unsynced_duplicate" and opts["archive_unsynced_duplicates"] and not is_synced(member)
    expected = [m["id"] for m in staff if is_synced(m) and m["status"] == "active" and normalise(staff_object_id(m)) not in scope]
    assert [a["id"] for a in result["archive"] if a["reason"] == "out_of_scope"] == expected


@SETTINGS
@given(scenario)
def test_unsynced_staff_change_only_when_adopted_or_archived_as_duplicates(case):
    desired, staff, opts, mask = case
    result, _unused = planned(desired, staff, opts, mask)
    by_id = {member["id"]: member for member in staff}
    for item in result["update"]:
        assert item["adopt"] == (not is_synced(by_id[item["id"]]))
        assert item["rule"] in opts["match"]
        if item["adopt"]:
            assert item["rule"] != "object_id"
            assert item["after"]["integration"] == {"source": "entra_id", "object_id": item["object_id"]}
    assert len({u["id"] for u in result["update"]}) == len(result["update"]), "no staff member is updated twice"


@SETTINGS
@given(scenario)
def test_updates_carry_only_changed_fields_and_creates_are_marked_synced(case):
    desired, staff, opts, mask = case
    result, _unused = planned(desired, staff, opts, mask)
    by_id = {member["id"]: member for member in staff}
    for item in result["update"]:
        assert item["before"] and set(item["before"]) == set(item["after"])
        for name, value in item["before"].items():
            assert by_id[item["id"]].get(name) == value
            assert value != item["after"][name]
    for item in result["create"]:
        assert item["fields"]["integration"] == {"source": "entra_id", "object_id": item["object_id"]}
    json.dumps(result)


@SETTINGS
@given(scenario)
def test_plan_is_deterministic(case):
    desired, staff, opts, mask = case
    assert planned(desired, staff, opts, mask) == planned(desired, staff, opts, mask)


@SETTINGS
@given(st.integers(0, 60), st.integers(0, 60), st.one_of(st.integers(0, 20), st.integers(0, 100).map(lambda n: f"{n}%")))
def test_the_plan_fails_exactly_when_archives_exceed_the_threshold(kept, removed, threshold):
    staff = [{"id": str(i), "first_name": f"F{i}", "last_name": f"L{i}", "email": f"u{i}@x", "status": "active",
              "integration": {"source": "entra_id", "object_id": f"o{i}"}} for i in range(kept + removed)]
    desired = [DesiredStaff(f"o{i}", f"F{i} L{i}", {"first_name": f"F{i}", "last_name": f"L{i}", "email": f"u{i}@x"}) for i in range(kept)]
    assume(kept > 0)
    if isinstance(threshold, int):
        allowed = threshold
    else:
        percent = int(threshold[:-1])
        allowed = math.floor(percent * len(staff) / 100)
        if percent > 0:
            allowed = max(allowed, 1)
    if removed > allowed:
        with pytest.raises(CoconutEntraError, match=f"archive {removed} staff"):
            plan(desired, staff, archive_threshold=threshold)
    else:
        assert plan(desired, staff, archive_threshold=threshold)["counts"]["archive"] == removed
    assert plan(desired, staff, archive_threshold=threshold, force_archive=True)["counts"]["archive"] == removed


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_normalise_is_idempotent_and_trimmed(text):
    once = normalise(text)
    assert normalise(once) == once
    assert once == once.strip() and "  " not in once


@settings(max_examples=200, deadline=None)
@given(spelled(FIRST + LAST))
def test_every_spelling_normalises_to_the_same_key(text):
    base = next(name for name in FIRST + LAST if text in spellings(name))
    if "ß" in base:
        base = base.replace("ß", "ss")
    assert normalise(text) == normalise(base)
