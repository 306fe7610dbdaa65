"""The single-purpose modules against the sandbox: check -> apply -> check -> apply where they write."""

from __future__ import annotations

from pathlib import Path

import pytest

from . import branch
from .playbook import run_playbook
from .test_sync import make_site

pytestmark = pytest.mark.integration
PLAYBOOK = Path(__file__).parent / "playbooks" / "modules.yml"


@pytest.fixture
def site(start_sandbox, tmp_path):
    return make_site(start_sandbox, tmp_path, branch.scenario())


def run(site, tmp_path, module, args, check=False, diff=True):
    result = run_playbook(PLAYBOOK, tmp_path, vars_files=[site.vars_file], extra={"module_name": module, "module_args": args},
                          check=check, diff=diff)
    assert result.rc == 0, result.output
    return [r for r in result.results if r["task"] == "Module under test" and r["status"] == "ok"][0]["result"]


def four_steps(site, tmp_path, module, args):
    first = run(site, tmp_path, module, args, check=True)
    assert first["changed"] is True and site.writes() == []
    applied = run(site, tmp_path, module, args)
    assert applied["changed"] is True and site.writes()
    site.clear_requests()
    assert run(site, tmp_path, module, args, check=True)["changed"] is False
    assert run(site, tmp_path, module, args)["changed"] is False
    assert site.writes() == []
    return first, applied


def test_staff_creates_a_hand_managed_member(site, tmp_path):
    args = {"email": "sam.rivera@contractor.example", "first_name": "Sam", "last_name": "Rivera", "job_title": "Mortgage Specialist",
            "role": 10, "locations": ["MALL"]}
    first, applied = four_steps(site, tmp_path, "staff", args)
    assert first["diff"]["before"] == {} and first["diff"]["after"]["email"] == "sam.rivera@contractor.example"
    sams = [s for s in site.state()["coconut"]["users"] if s["email"] == "sam.rivera@contractor.example"]
    assert len(sams) == 1 and sams[0]["integration"] is None and sams[0]["locations"] == ["MALL"]
    assert applied["staff"]["synced"] is False


def test_staff_updates_only_the_given_fields_and_archives(site, tmp_path):
    first, _unused = four_steps(site, tmp_path, "staff", {"email": "FrontDesk@mapleridge.example ", "job_title": "Front desk", "state": "archived"})
    assert first["diff"] == {"before": {"job_title": "Reception", "status": "active"}, "after": {"job_title": "Front desk", "status": "archived"}}
    desk = [s for s in site.state()["coconut"]["users"] if s["id"] == 108][0]
    assert desk["status"] == "archived" and desk["first_name"] == "Front"


def test_user_group_is_created_once(site, tmp_path):
    first, applied = four_steps(site, tmp_path, "user_group", {"name": "Mortgage Team", "external_id": "mortgage"})
    assert first["diff"] == {"before": {}, "after": {"name": "Mortgage Team", "external_id": "mortgage"}}
    names = [g["name"] for g in site.state()["coconut"]["user_groups"]]
    assert names.count("Mortgage Team") == 1
    # Named in another case, with stray spaces: the same group, as Entra group names and the sync's user_group match.
    assert run(site, tmp_path, "user_group", {"name": " mortgage TEAM"})["changed"] is False
    assert site.writes() == [] and len(site.state()["coconut"]["user_groups"]) == len(names)
    # Two groups that both match: an error naming both, nothing written.
    state = site.state()
    state["coconut"]["user_groups"].append({"id": 99, "external_id": None, "name": "MORTGAGE team"})
    site.put_state(state)
    site.clear_requests()
    failed = run_playbook(PLAYBOOK, tmp_path, vars_files=[site.vars_file], extra={"module_name": "user_group", "module_args": {"name": "Mortgage Team"}})
    assert failed.rc != 0 and "matches 2 Coconut staff groups" in failed.output and "MORTGAGE team (99)" in failed.output, failed.output
    assert site.writes() == []


def test_staff_info_marks_synced_and_lists_duplicate_sets(site, tmp_path):
    info = run(site, tmp_path, "staff_info", {})
    rows = {r["id"]: r for r in info["staff"]}
    assert rows["103"]["synced"] is True and rows["103"]["object_id"] == branch.oid("alan")
    assert rows["108"]["synced"] is False
    assert info["counts"]["total"] == len(branch.BASE["coconut"]["users"])
    assert info["duplicate_sets"] == []
    assert site.writes() == []


def test_entra_group_info_reads_direct_and_transitive_members(site, tmp_path):
    direct = run(site, tmp_path, "entra_group_info", {"groups": ["Coconut - Advisors"]})
    names = sorted(m["displayName"] for m in direct["groups"][0]["members"])
    assert names == ["Katherine Johnson", "Linus Pauling", "Margaret Hamilton"]
    nested = run(site, tmp_path, "entra_group_info", {"groups": [branch.oid("g-advisors")], "membership": "transitive"})
    assert "Dennis Ritchie" in [m["displayName"] for m in nested["groups"][0]["members"]]
