"""What a real tenant's data does to the sync (issue 15), against one shared sandbox: check mode predicts the real
run, nothing is written wrong silently, no duplicate is created silently. Runs go through the module's one call
(direct.py); the one thing only the playbook shows (how `-e entra_groups=...` reaches the module) goes through it."""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sandbox.client import make_scenario

from .direct import run_sync
from .playbook import run_playbook

pytestmark = pytest.mark.integration

GROUP = "7a1f0000-0000-4000-8000-0000000000a1"
BASE = make_scenario(users=0, groups=[], seed=15)


def scenario():
    return copy.deepcopy(BASE)


def person(n, given="Ada", surname="Lovelace", **fields):
    login = "%s.%s%d" % ((given or "").strip().lower() or "x", (surname or "").strip().lower() or "x", n)
    display = " ".join(part for part in (given, surname) if part)
    user = {"id": "7a1f0000-0000-4000-8000-%012d" % (1000 + n), "displayName": display, "givenName": given,
            "surname": surname, "mail": login + "@bank.example", "userPrincipalName": login + "@bank.example",
            "accountEnabled": True, "jobTitle": "Teller", "employeeId": None}
    user.update(fields)
    return user


def tenant(users, staff=(), user_groups=(), groups=None):
    state = scenario()
    state["entra"]["users"] = list(users)
    state["entra"]["groups"] = groups or [{"id": GROUP, "displayName": "Coconut - Tellers", "members": [u["id"] for u in users]}]
    state["coconut"]["users"] = [dict(member) for member in staff]
    state["coconut"]["user_groups"] = list(user_groups)
    return state


def unsynced(staff_id, first, last, email):
    return {"id": staff_id, "first_name": first, "last_name": last, "email": email, "job_title": None, "status": "active", "integration": None}


def synced_staff(site):
    return {u["integration"]["object_id"]: u for u in site.state()["coconut"]["users"] if u.get("integration")}


@pytest.fixture
def site(module_sandbox):
    return module_sandbox


def sync(site, check_mode=False, **options):
    options.setdefault("groups", [GROUP])
    return run_sync(site, check_mode=check_mode, **options)


# --- defect 1 -----------------------------------------------------------------------------------------

def test_a_null_through_a_filter_is_written_as_null_not_none_text(site):
    site.reset(tenant([person(1, jobTitle=None, employeeId=None)]))
    mapping = {"job_title": "user.jobTitle | trim", "external_id": "'EMP-' ~ user.employeeId"}
    check = sync(site, check_mode=True, mapping=mapping)
    assert check.ok, check
    [change] = check.result["changes"]
    assert change["after"]["job_title"] is None and change["after"]["external_id"] is None
    assert "job_title: null" in check.result["diff"][1]["after"]
    applied = sync(site, mapping=mapping)
    assert applied.ok, applied
    [staff] = synced_staff(site).values()
    assert staff["job_title"] is None and staff["external_id"] is None


# --- defect 5 -----------------------------------------------------------------------------------------

def test_padded_values_are_written_trimmed_and_check_mode_predicts_the_real_run(site):
    site.reset(tenant([person(1, mail=" ada@bank.example ", surname="Builder "), person(2, mail="   ", userPrincipalName="grace@bank.example")]))
    check = sync(site, check_mode=True)
    applied = sync(site)
    assert check.ok and applied.ok, (check, applied)
    assert applied.result["changes"] == check.result["changes"]
    assert {s["email"]: s["last_name"] for s in synced_staff(site).values()} == {"ada@bank.example": "Builder", "grace@bank.example": "Lovelace"}
    site.clear_requests()
    again = sync(site)
    assert again.ok and again.result["changed"] is False and site.write_count() == 0


def test_an_email_coconut_would_refuse_fails_check_mode_too_naming_the_user(site):
    site.reset(tenant([person(1), person(2, given="Bob", surname="Builder", mail="bob at bank", userPrincipalName=None)]))
    check = sync(site, check_mode=True)
    assert not check.ok
    assert "Bob Builder" in check.msg and "not an email address" in check.msg
    skipped = sync(site, invalid_users="skip")
    assert skipped.ok and skipped.result["counts"]["create"] == 1 and skipped.result["counts"]["skipped"] == 1


# --- defects 2, 6 and 7: what the warnings say --------------------------------------------------------

def test_shared_emails_and_user_principal_names_are_reported_as_possible_duplicates(site):
    users = [person(1, given="Ada", mail="team@bank.example"), person(2, given="Grace", mail="team@bank.example"),
             person(3, given="Robert", surname="Builder", mail="robert.builder@bank.example", userPrincipalName="rbuilder@bank.example")]
    site.reset(tenant(users, staff=[unsynced(7, "Bob", "Builder", "rbuilder@bank.example")]))
    outcome = sync(site)
    assert outcome.ok, outcome
    assert outcome.result["counts"]["create"] == 0 and outcome.result["counts"]["possible_duplicate"] == 3
    text = "\n".join(outcome.warnings)
    assert "Ada Lovelace <team@bank.example> shares the email with Entra user(s) Grace Lovelace" in text
    assert "Robert Builder <robert.builder@bank.example> matches no staff, but unsynced Bob Builder <rbuilder@bank.example> (staff 7)" in text
    assert synced_staff(site) == {}


def test_two_users_claiming_one_staff_member_are_named_together(site):
    users = [person(1, given="Ada", displayName="Ada Lovelace"), person(2, given="Ada", displayName="Ada Lovelace")]
    site.reset(tenant(users, staff=[unsynced(7, "Ada", "Lovelace", "ada@old.example")]))
    outcome = sync(site, check_mode=True)
    assert outcome.ok, outcome
    [warning] = [w for w in outcome.warnings if w.startswith("conflict")]
    assert warning.startswith("conflict: Entra users Ada Lovelace <ada.lovelace1@bank.example>, Ada Lovelace <ada.lovelace2@bank.example> "
                              "all match the one Coconut staff member Ada Lovelace <ada@old.example> (staff 7)")
    assert "several" not in warning


# --- defect 4 -----------------------------------------------------------------------------------------

def test_a_staff_group_named_in_another_case_is_the_same_group(site):
    site.reset(tenant([person(1)], user_groups=[{"id": 31, "name": "Tellers", "external_id": None}]))
    outcome = sync(site, groups=[{"group": GROUP, "user_group": "tellers"}])
    assert outcome.ok, outcome
    assert [g["name"] for g in site.state()["coconut"]["user_groups"]] == ["Tellers"]
    [staff] = synced_staff(site).values()
    assert staff["user_group_id"] == 31


# --- defect 8 -----------------------------------------------------------------------------------------

def test_a_real_run_stopped_by_fail_on_conflicts_is_not_changed(site):
    # Ada would be created; Grace shares the email of an unsynced staff member (a possible duplicate).
    site.reset(tenant([person(1), person(2, given="Grace")], staff=[unsynced(7, "Grace", "Hopper", "grace.lovelace2@bank.example")]))
    outcome = sync(site, fail_on_conflicts=True)
    assert not outcome.ok and "nothing was written" in outcome.msg
    assert outcome.error.details["result"]["changed"] is False
    assert site.write_count() == 0


# --- defect 3: through the playbook, as users pass it -----------------------------------------------------

def test_a_string_entra_groups_from_the_command_line_is_one_group(site, tmp_path):
    groups = [{"id": "7a1f0000-0000-4000-8000-0000000000b%d" % n, "displayName": name, "members": [person(n)["id"]]}
              for n, name in enumerate(["Lending, Mortgages", "Lending", "Mortgages"], start=1)]
    site.reset(tenant([person(1), person(2), person(3)], groups=groups))
    run = run_playbook("sync.yml", tmp_path, vars_files=[site.vars_file], check=True, args=("-e", "entra_groups='Lending, Mortgages'"))
    assert run.rc == 0, run.output
    assert [g["displayName"] for g in run.sync["groups"]] == ["Lending, Mortgages"]
    assert run.sync["scope"] == 1


# --- the property: generated users with nulls, blanks, padding, case and shared emails ----------------------

NAMES = st.sampled_from(["Ada", "ada", " Grace", "Alan ", "Zoë", "O'Brien"])
BLANKS = st.sampled_from([None, "", "   ", "\u00a0"])
MAILBOXES = st.sampled_from(["ada", "ADA", "grace", "alan", "shared"])


@st.composite
def entra_users(draw):
    count = draw(st.integers(min_value=1, max_value=6))
    users = []
    for n in range(count):
        given = draw(st.one_of(NAMES, BLANKS))
        mailbox = draw(MAILBOXES)
        padded = draw(st.booleans())
        mail = draw(st.one_of(st.just(("  %s@bank.example " if padded else "%s@bank.example") % mailbox), BLANKS))
        users.append(person(n, given=given, surname=draw(st.one_of(NAMES, BLANKS)), mail=mail,
                            userPrincipalName="upn%d@bank.example" % n, jobTitle=draw(st.one_of(NAMES, BLANKS)),
                            employeeId=draw(st.one_of(st.just("E%d" % n), BLANKS))))
    return users


MAPPING = {"job_title": "user.jobTitle | trim", "external_id": "'EMP-' ~ user.employeeId", "username": "user.mail | lower"}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(users=entra_users())
def test_check_mode_predicts_the_real_run_and_nothing_is_written_wrong(site, users):
    site.reset(tenant(users, staff=[unsynced(7, "Ada", "Lovelace", "shared@bank.example")]))
    options = {"mapping": MAPPING, "invalid_users": "skip"}
    check = sync(site, check_mode=True, **options)
    assert check.ok, check
    applied = sync(site, **options)
    assert applied.ok, applied
    assert applied.result["changes"] == check.result["changes"], "check mode did not predict the real run"
    written = synced_staff(site)
    for change in check.result["changes"]:
        staff = written[change["object_id"]]
        assert {k: staff.get(k) for k in change["after"]} == change["after"], "the real run wrote something else than planned"
    for staff in written.values():
        for name in ("first_name", "last_name", "email", "job_title", "external_id", "username"):
            value = staff.get(name)
            assert value is None or (isinstance(value, str) and value == value.strip() and value and "None" not in value), (name, value)
        assert staff["first_name"] and staff["last_name"] and staff["email"]
    emails = [s["email"].casefold() for s in written.values()]
    assert len(emails) == len(set(emails)), "two staff members were created with one email"
    site.clear_requests()
    again = sync(site, **options)
    assert again.ok and again.result["changed"] is False and site.write_count() == 0
