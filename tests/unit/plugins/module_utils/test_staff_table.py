"""staff_table: the compact staff records give back exactly what was added, and planning with settled users taken out
(Settler) gives exactly the plan, or the error, of planning with everyone, on generated sites where many users are
unchanged and others collide with them by object id, email or a skipped entry."""

import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_reconcile_fast_path import sites
from test_reconcile_properties import options, skipped_from

from ansible_collections.coconut.entra.plugins.module_utils.coconut import _REPEATED_FIELDS, _SHARED_VALUES, flatten
from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.reconcile import SOURCE, DesiredStaff, plan
from ansible_collections.coconut.entra.plugins.module_utils.staff_table import Settler, StaffTable

SETTINGS = settings(max_examples=int(os.environ.get("RECONCILE_EXAMPLES", "300")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def table_of(staff):
    table = StaffTable()
    for record in staff:
        table.add(record)
    return table.done()


def exact(value):
    """A value with its types spelt out (1, 1.0 and True differ; a tuple is not a list)."""
    return json.dumps(value, sort_keys=False, default=repr) + repr(type(value)) if not isinstance(value, (dict, list)) else \
        json.dumps(value, sort_keys=False) + repr([(type(v), exact(v)) for v in (value.values() if isinstance(value, dict) else value)])


def outcome(desired, staff, opts, skipped, force_archive, settled=0):
    try:
        return plan(desired, staff, match=opts["match"], possible_duplicates=opts["possible_duplicates"], archive_threshold="10%",
                    force_archive=force_archive, skipped=skipped, archive_unsynced_duplicates=opts["archive_unsynced_duplicates"],
                    settled=settled)
    except (CoconutEntraError, TypeError) as error:
        return ("error", type(error).__name__, str(error))


@SETTINGS
@given(sites(), options, st.lists(st.booleans(), min_size=16, max_size=16), st.booleans())
def test_planning_without_the_settled_users_plans_exactly_what_planning_with_everyone_plans(site, opts, mask, force_archive):
    desired, staff = site
    opts = dict(opts, archive_unsynced_duplicates=False)  # the sync does not settle with that option (it looks at every synced staff)
    skipped = skipped_from(desired, mask)
    everyone = outcome(desired, staff, opts, skipped, force_archive)

    table = table_of(staff)
    settler = Settler(table, [{}])
    held = [settler.settle(user, 0) or user for user in desired]
    lean_desired, lean_staff, settled, put_back = settler.finish(held, skipped)
    assert settled == (0 if put_back else settler.count)
    if put_back:
        assert lean_desired == desired and [exact(r) for r in lean_staff] == [exact(r) for r in staff]
    lean = outcome(lean_desired, lean_staff, opts, skipped, force_archive, settled)
    assert lean == everyone


@SETTINGS
@given(sites())
def test_every_record_comes_back_as_it_was_added(site):
    _desired, staff = site
    staff = [dict(record) for record in staff]
    if staff:
        staff.append({"id": "odd", "integration": "entra_id"})  # other keys: kept as the dict it is
        staff.append(dict(staff[0], id="str-mark", integration="x"))  # a bare string where the mark goes: not packed
        staff.append(dict(staff[0], id="tuple", locations=()))
        staff.append(dict(staff[0], id="dup"))
        staff.append(dict(staff[0], id="dup", first_name="second sighting"))
    table = table_of(staff)
    seen, expected = set(), []
    for record in staff:
        if record["id"] not in seen:
            seen.add(record["id"])
            expected.append(record)
    assert [exact(table.record(n)) for n in range(len(table))] == [exact(r) for r in expected]
    for number, record in enumerate(expected):
        for name in list(record) + ["absent"]:
            assert exact(table.value(number, name)) == exact(record.get(name))


def test_an_unchanged_user_is_settled_and_the_planner_counts_it():
    staff = [{"id": "1", "first_name": "Ada", "last_name": "Lovelace", "email": "ada@bank.example", "status": "active", "locations": [],
              "integration": {"source": "entra_id", "object_id": "AAA"}},
             {"id": "2", "first_name": "Bob", "last_name": "Stone", "email": "bob@bank.example", "status": "active", "locations": [],
              "integration": {"source": "entra_id", "object_id": "bbb"}}]
    table = table_of(staff)
    assert all(row.__class__ is tuple for row in table.rows)
    settler = Settler(table, [{"locations": []}])
    ada = DesiredStaff("aaa", "Ada L", {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@bank.example"}, ("ada@bank.example",))
    bob = DesiredStaff("bbb", "Bob", {"first_name": "Robert", "last_name": "Stone", "email": "bob@bank.example"}, ("bob@bank.example",))
    placeholder = settler.settle(ada, 0)
    assert placeholder is not None and settler.settle(bob, 0) is None
    assert settler.restore(placeholder) == ada  # its own object id spelling, display name and aliases
    desired, lean_staff, settled, put_back = settler.finish([placeholder, bob])
    assert (desired, [r["id"] for r in lean_staff], settled, put_back) == ([bob], ["2"], 1, False)
    result = plan(desired, lean_staff, settled=settled)
    assert result["counts"]["unchanged"] == 1 and [u["id"] for u in result["update"]] == ["2"]
    # A user who is not settled and has the settled user's email: everyone is planned, as without settling.
    eve = DesiredStaff("eee", "Eve", {"first_name": "Eve", "last_name": "X", "email": "ADA@bank.example"}, ())
    desired, lean_staff, settled, put_back = settler.finish([placeholder, bob, eve])
    assert put_back and settled == 0 and desired == [ada, bob, eve] and [r["id"] for r in lean_staff] == ["1", "2"]


@SETTINGS
@given(sites(), st.lists(st.sampled_from(["none", "int_group", "int_id", "other_source", "locations", "extra_key", "reordered",
                                          "mark_with_more", "id_attribute"]), min_size=16, max_size=16))
def test_a_resource_goes_in_as_its_flattened_record_would(site, tweaks):
    """add_resource() (the read's fast path) keeps exactly what add(flatten(resource)) keeps, shared values included."""
    _desired, staff = site
    resources = []
    for record, tweak in zip(staff, tweaks, strict=False):
        attributes = {k: v for k, v in json.loads(json.dumps(record)).items() if k != "id"}
        ident = record["id"]
        if tweak == "int_group":
            attributes["user_group_id"] = 8
        elif tweak == "int_id":
            ident = int(ident)
        elif tweak == "other_source" and isinstance(attributes.get("integration"), dict):
            attributes["integration"]["source"] = "okta"
        elif tweak == "locations":
            attributes["locations"] = ["BR1", "BR2"]
        elif tweak == "extra_key":
            attributes["nickname"] = "x"
        elif tweak == "reordered":
            attributes = dict(reversed(list(attributes.items())))
        elif tweak == "mark_with_more" and isinstance(attributes.get("integration"), dict):
            attributes["integration"]["synced_at"] = "2026-01-01"
        elif tweak == "id_attribute":
            attributes["id"] = "other"
        resources.append({"type": "users", "id": ident, "attributes": attributes})
    shared = _SHARED_VALUES  # the client's own: flatten() shares into it too
    fast = StaffTable(flatten, _REPEATED_FIELDS, shared)
    for resource in json.loads(json.dumps(resources)):
        fast.add_resource(resource)
    slow = table_of([flatten(resource) for resource in json.loads(json.dumps(resources))])
    assert [exact(fast.record(n)) for n in range(len(fast))] == [exact(slow.record(n)) for n in range(len(slow))]
    assert fast.index == slow.index
    for number in range(len(fast)):  # repeated values are the shared objects, as flatten() makes them
        record = fast.record(number)
        for name in ("status", "job_title", "language"):
            if isinstance(record.get(name), str):
                assert record[name] is shared[record[name]]
        integration = record.get("integration")
        if isinstance(integration, dict) and isinstance(integration.get("source"), str):
            # a packed mark comes back with reconcile.SOURCE itself
            assert integration["source"] is shared.get(integration["source"]) or integration["source"] is SOURCE


def test_a_value_equal_but_of_another_type_is_not_settled():
    """1, 1.0 and True are equal in Python but not the same value to Coconut: the planner updates such a field, so the
    settler leaves the user to it (packed rows and dict rows alike)."""
    base = {"id": "1", "first_name": "Ada", "last_name": "L", "email": "ada@bank.example", "role": 1, "status": "active",
            "integration": {"source": "entra_id", "object_id": "aaa"}}
    for rows in ([base], [{"id": "0", "other": 1}, base]):  # the second: base differs from the first record's keys, kept as a dict
        table = table_of(rows)
        for role, settled in ((1, True), (1.0, False), (True, False), ("1", False)):
            settler = Settler(table, [{"role": role}])
            user = DesiredStaff("aaa", "Ada", {"first_name": "Ada", "last_name": "L", "email": "ada@bank.example"}, ("ada@bank.example",))
            assert (settler.settle(user, 0) is not None) is settled, (rows, role)
            archived = table_of([dict(r, status="archived") for r in rows])
            assert Settler(archived, [{"role": role}]).settle(user, 0) is None


def test_map_users_settles_before_it_builds_and_the_placeholder_gives_back_the_same_user():
    """mapping.map_users(settle=...) puts a settled user's placeholder where its DesiredStaff would be; restoring it
    gives that very DesiredStaff (object id spelling, display name, aliases, fields) back."""
    from ansible_collections.coconut.entra.plugins.module_utils.mapping import Mapping, map_users

    graph = [
        {"id": "aaa", "displayName": "Ada L", "givenName": "Ada", "surname": "Lovelace", "mail": "ada@bank.example",
         "userPrincipalName": "ada@bank.example", "jobTitle": "Teller", "accountEnabled": True},
        {"id": "BBB", "displayName": "Bob", "givenName": "Bob", "surname": "Stone", "mail": " bob@bank.example ",
         "userPrincipalName": "bob@corp.example", "jobTitle": None, "accountEnabled": True},  # upper-case id, two aliases
        {"id": "ccc", "displayName": "Cy", "givenName": "Cy", "surname": "Changed", "mail": "cy@bank.example",
         "userPrincipalName": "cy@bank.example", "jobTitle": "Teller", "accountEnabled": True},
        {"id": "ddd", "displayName": "No mail", "givenName": "D", "surname": "D", "mail": None, "userPrincipalName": None,
         "jobTitle": None, "accountEnabled": True},  # invalid: no email
    ]
    people = [("Ada", "Lovelace", "ada@bank.example", "Teller", "aaa"), ("Bob", "Stone", "bob@bank.example", None, "bbb"),
              ("Cy", "Before", "cy@bank.example", "Teller", "ccc")]
    staff = [{"id": str(n), "first_name": first, "last_name": last, "email": email, "job_title": title, "status": "active",
              "integration": {"source": "entra_id", "object_id": oid}}
             for n, (first, last, email, title, oid) in enumerate(people)]
    mapping = Mapping({})
    plain, plain_invalid = map_users(mapping, graph, invalid_users="skip")
    settler = Settler(table_of(staff), [{}])
    held, invalid = map_users(mapping, graph, invalid_users="skip", settle=settler.settler_for(0))
    assert invalid == plain_invalid and len(held) == len(plain) == 3
    assert [item.__class__ for item in held] == [tuple, tuple, DesiredStaff] and held[2] == plain[2]
    assert [settler.restore(item) for item in held[:2]] == plain[:2]


def test_same_id_gives_the_rows_own_string_only_when_it_is_equal():
    table = table_of([{"id": "1", "email": "a@b.example", "integration": {"source": "entra_id", "object_id": "aaa"}},
                      {"id": "2", "email": "b@b.example", "integration": {"source": "entra_id", "object_id": "BBB"}}])
    settler = Settler(table, [{}])
    mine = "".join(["a", "aa"])  # an equal string that is another object
    assert settler.same_id(mine) == "aaa" and settler.same_id(mine) is table.rows[0][-1]
    assert settler.same_id("BBB") == "BBB" and settler.same_id("bbb") == "bbb" and settler.same_id("zzz") == "zzz"
