"""sync.yml against the sandbox, over TLS, as users run it: check -> apply -> check -> apply."""

from __future__ import annotations

import pytest

from . import branch
from .playbook import run_playbook

pytestmark = pytest.mark.integration


@pytest.fixture
def site(start_sandbox, tmp_path):
    """The branch scenario running in the sandbox, with its vars file and the inventory variables."""
    return make_site(start_sandbox, tmp_path, branch.scenario())


def make_site(start_sandbox, tmp_path, scenario):
    """The scenario running in the sandbox; its vars file (sandbox.vars_file) is what users pass with -e @."""
    return start_sandbox(scenario)


def sync(site, tmp_path, check=False, diff=False, **extra):
    variables = {"entra_groups": branch.GROUPS}
    variables.update(extra)
    return run_playbook("sync.yml", tmp_path, vars_files=[site.vars_file], extra=variables, check=check, diff=diff)


def staff_by_id(site):
    return {str(s["id"]): s for s in site.state()["coconut"]["users"]}


def test_four_steps_check_apply_check_apply(site, tmp_path):
    before = site.state()

    check = sync(site, tmp_path, check=True, diff=True)
    assert check.rc == 0, check.output
    assert check.sync["changed"] is True
    assert site.writes() == [], "check mode wrote to a service"
    assert site.state() == before
    predicted = check.sync["changes"]
    assert check.sync["counts"]["create"] == 1
    assert check.sync["counts"]["archive"] == 2

    site.clear_requests()
    apply = sync(site, tmp_path)
    assert apply.rc == 0, apply.output
    assert apply.sync["changed"] is True
    assert apply.sync["changes"] == predicted, "check mode did not predict the real run"
    assert site.writes(), "the real run wrote nothing"

    site.clear_requests()
    again = sync(site, tmp_path, check=True, diff=True)
    assert again.rc == 0, again.output
    assert again.sync["changed"] is False
    assert again.sync["changes"] == []

    final = sync(site, tmp_path)
    assert final.rc == 0, final.output
    assert final.sync["changed"] is False
    assert site.writes() == [], "a second run wrote"


def test_apply_reaches_the_desired_state(site, tmp_path):
    result = sync(site, tmp_path)
    assert result.rc == 0, result.output
    staff = staff_by_id(site)
    groups = {g["name"]: g["id"] for g in site.state()["coconut"]["user_groups"]}

    ada = staff["101"]
    assert ada["first_name"] == "Ada", "an adopted ' ADA' takes Entra's exact value"
    assert ada["integration"] == {"source": "entra_id", "object_id": branch.oid("ada")}
    assert ada["user_group_id"] == groups["Tellers"] and isinstance(ada["user_group_id"], int), "the missing staff group was created and assigned"

    grace = staff["102"]
    assert grace["integration"]["object_id"] == branch.oid("grace"), "rule B adopted by display name"
    assert grace["email"] == "grace.hopper@navy.example"

    assert staff["103"]["job_title"] == "Senior Teller"
    katherine = staff["104"]
    assert katherine["status"] == "active", "synced staff archived by hand but still in scope are restored"
    assert katherine["role"] == 13 and sorted(katherine["locations"]) == ["MAIN", "MALL"]
    assert katherine["user_group_id"] == groups["Advisors"] and isinstance(katherine["user_group_id"], int)

    linus = [s for s in staff.values() if (s.get("integration") or {}).get("object_id") == branch.oid("linus")]
    assert len(linus) == 1, "created exactly once"
    assert linus[0]["role"] == 10 and linus[0]["locations"] == ["MAIN"], "a user in two groups takes the first group's values"

    assert staff["105"]["first_name"] == "Peggy" and staff["105"]["integration"] is None, "a possible duplicate is not adopted"
    assert not [s for s in staff.values() if s["email"] == "margaret.hamilton@mapleridge.example" and s["id"] != 105]
    assert staff["106"]["status"] == "archived", "a disabled account archives its staff member"
    assert staff["107"]["status"] == "archived", "leaving every group archives the staff member"
    assert staff["108"] == branch.BASE["coconut"]["users"][7], "unsynced staff are never changed"
    assert not [s for s in staff.values() if (s.get("integration") or {}).get("object_id") == branch.oid("dennis")], \
        "direct membership does not follow the nested group"


def test_possible_duplicate_is_reported_by_name_and_email(site, tmp_path):
    result = sync(site, tmp_path, check=True)
    assert result.rc == 0, result.output
    duplicates = result.sync["possible_duplicates"]
    assert [(d["display_name"], d["email"]) for d in duplicates] == [("Margaret Hamilton", "margaret.hamilton@mapleridge.example")]
    assert "possible duplicate" in result.output and "Margaret Hamilton" in result.output, "shown at default verbosity"


def test_possible_duplicates_create_gives_the_old_behaviour(site, tmp_path):
    result = sync(site, tmp_path, coconut_possible_duplicates="create")
    assert result.rc == 0, result.output
    margarets = [s for s in staff_by_id(site).values() if s["email"] == "margaret.hamilton@mapleridge.example"]
    assert len(margarets) == 2


def test_transitive_membership_follows_nested_groups(site, tmp_path):
    result = sync(site, tmp_path, entra_membership="transitive")
    assert result.rc == 0, result.output
    dennis = [s for s in staff_by_id(site).values() if (s.get("integration") or {}).get("object_id") == branch.oid("dennis")]
    assert len(dennis) == 1 and dennis[0]["role"] == 13


def test_diff_shows_only_the_changing_fields(site, tmp_path):
    result = sync(site, tmp_path, check=True, diff=True)
    assert result.rc == 0, result.output
    out = result.stdout
    assert "coconut.entra plan: 1 create, 4 update, 1 restore, 2 archive" in out or "coconut.entra plan:" in out
    assert "-job_title: Teller" in out and "+job_title: Senior Teller" in out
    assert "update Alan Turing <alan.turing@mapleridge.example>, staff 103" in out
    # Alan's unchanged fields are not in his entry.
    alan = out.split("Alan Turing <alan.turing@mapleridge.example>, staff 103", 1)[1].split("before:", 1)[0]
    assert "last_name" not in alan and "email" not in alan


def test_large_diff_is_summarised(site, tmp_path):
    result = sync(site, tmp_path, check=True, diff=True, coconut_diff_max_entries=2)
    assert result.rc == 0, result.output
    assert "more changes not shown" in result.stdout


def test_unknown_group_fails_before_any_write(site, tmp_path):
    result = sync(site, tmp_path, entra_groups=["No Such Group"])
    assert result.rc != 0
    assert "No Such Group" in result.output
    assert site.writes() == []


def test_ambiguous_group_name_fails_and_lists_the_ids(site, tmp_path):
    result = sync(site, tmp_path, entra_groups=["Branch Staff"])
    assert result.rc != 0
    assert branch.oid("g-dup-1") in result.output and branch.oid("g-dup-2") in result.output
    assert site.writes() == []


def test_archive_threshold_fails_in_check_mode_too(site, tmp_path):
    for check in (True, False):
        result = sync(site, tmp_path, check=check, coconut_archive_threshold=1)
        assert result.rc != 0
        assert "threshold" in result.output and "coconut_force_archive" in result.output
    assert site.writes() == []
    forced = sync(site, tmp_path, coconut_archive_threshold=1, coconut_force_archive=True)
    assert forced.rc == 0, forced.output
    assert forced.sync["counts"]["archive"] == 2


def test_empty_scope_does_not_archive_everyone(site, tmp_path):
    result = sync(site, tmp_path, check=True, entra_groups=[branch.oid("g-dup-1")])
    assert result.rc != 0
    assert "no enabled users" in result.output or "empty" in result.output
    assert site.writes() == []


def test_mapping_override_and_values_stay_literal(start_sandbox, tmp_path):
    scenario = branch.scenario()
    scenario["entra"]["users"][4]["jobTitle"] = "{{ 7*7 }} <script>alert(1)</script>"
    site = make_site(start_sandbox, tmp_path, scenario)
    result = sync(site, tmp_path, coconut_staff_mapping={"external_id": "user.employeeId", "language": "'fr'"})
    assert result.rc == 0, result.output
    linus = [s for s in staff_by_id(site).values() if (s.get("integration") or {}).get("object_id") == branch.oid("linus")][0]
    assert linus["job_title"] == "{{ 7*7 }} <script>alert(1)</script>"
    assert linus["external_id"] == "E-LINUS" and linus["language"] == "fr"


def test_bad_mapping_expression_fails_before_anything_is_read(site, tmp_path):
    site.clear_requests()
    result = sync(site, tmp_path, coconut_staff_mapping={"job_title": "user.jobTitle |"})
    assert result.rc != 0
    assert "job_title" in result.output
    assert site.requests() == [], "a mapping that does not compile must fail before any request"


def test_missing_required_field_names_the_user_and_field(start_sandbox, tmp_path):
    scenario = branch.scenario()
    scenario["entra"]["users"][4]["surname"] = None
    site = make_site(start_sandbox, tmp_path, scenario)
    result = sync(site, tmp_path)
    assert result.rc != 0
    assert "Linus Pauling" in result.output and "last_name" in result.output
    assert site.writes() == []
    skipped = sync(site, tmp_path, coconut_invalid_users="skip")
    assert skipped.rc == 0, skipped.output
    assert [s["display_name"] for s in skipped.sync["skipped_users"]] == ["Linus Pauling"]
    assert "Linus Pauling" in skipped.output


def test_send_invite_is_off_by_default(site, tmp_path):
    result = sync(site, tmp_path)
    assert result.rc == 0, result.output
    creates = [r for r in site.requests() if r["method"] == "POST" and "/users" in r["path"]]
    assert creates
    assert site.state()["coconut"].get("invites", []) == []


def test_send_invite_invites_the_created_staff(site, tmp_path):
    result = sync(site, tmp_path, coconut_send_invite=True)
    assert result.rc == 0, result.output
    invites = site.state()["coconut"]["invites"]
    assert [i["email"] for i in invites] == ["linus.pauling@mapleridge.example"], "only created staff are invited"


@pytest.mark.parametrize("change, expected", [
    ({"entra_client_secret": "the-secret-id-by-mistake"}, "AADSTS7000215"),
    ({"coconut_api_token": "not-a-token"}, "coconut_api_token"),
    ({"coconut_url": "https://127.0.0.1:9"}, "cannot reach"),
])
def test_bad_credentials_and_hosts_fail_clearly(site, tmp_path, change, expected):
    result = sync(site, tmp_path, **change)
    assert result.rc != 0
    assert expected in result.output
    assert site.writes() == []


def test_numeric_user_group_ids_in_coconut_are_not_rewritten(start_sandbox, tmp_path):
    scenario = branch.scenario()
    for member in scenario["coconut"]["users"]:
        if str(member["id"]).startswith("2"):
            member["user_group_id"] = 1  # "Advisors", stored as a number
    site = make_site(start_sandbox, tmp_path, scenario)
    groups = branch.GROUPS[:2] + [{"group": branch.oid("g-colleagues"), "user_group": "Advisors"}]
    result = sync(site, tmp_path, check=True, entra_groups=groups)
    assert result.rc == 0, result.output
    colleagues = [c for c in result.sync["changes"] if (c["display_name"] or "").endswith("Colleague")]
    assert colleagues == [], "the same group id as a number and as a string is no change"


def test_match_order_without_object_id_first_fails_before_any_request(site, tmp_path):
    site.clear_requests()
    result = sync(site, tmp_path, coconut_match=["display_name", "object_id"])
    assert result.rc != 0
    assert "object_id" in result.output
    assert site.requests() == []


def test_match_rules_can_be_narrowed(site, tmp_path):
    result = sync(site, tmp_path, check=True, coconut_match=["object_id", "name_and_email"])
    assert result.rc == 0, result.output
    assert not [c for c in result.sync["changes"] if c["display_name"] == "Grace Hopper"], "without rule B she is not adopted"
    grace = [d for d in result.sync["possible_duplicates"] if d["display_name"] == "Grace Hopper"]
    assert grace and grace[0]["reason"] == "name", "her hand-made record with the same name makes her a possible duplicate"


def test_warnings_show_the_candidate_staff_by_name_and_email(site, tmp_path):
    result = sync(site, tmp_path, check=True, diff=True)
    assert result.rc == 0, result.output
    text = " ".join(result.output.split())
    assert ("possible duplicate: Entra user Margaret Hamilton <margaret.hamilton@mapleridge.example> matches no staff, but unsynced "
            "Peggy Hamilton <margaret.hamilton@mapleridge.example> (staff 105) shares the email") in text
    assert "adopt (rule A: same first name, last name and email) Ada Lovelace" in result.stdout
    assert 'adopt (rule B: "first last" equals the display name) Grace Hopper' in result.stdout
