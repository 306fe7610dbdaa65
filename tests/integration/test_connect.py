"""connect.yml and disconnect.yml against the sandbox: verify both sides, record, idempotence, reconnect without duplicates."""

from __future__ import annotations

import pytest
import yaml

from . import branch
from .playbook import run_playbook

pytestmark = pytest.mark.integration

GROUPS = branch.GROUPS
GROUP_IDS = [branch.oid("g-tellers"), branch.oid("g-advisors"), branch.oid("g-colleagues")]


@pytest.fixture
def site(start_sandbox, tmp_path):
    return start_sandbox(branch.scenario())


def connect(site, tmp_path, check=False, diff=False, **extra):
    variables = {"entra_groups": GROUPS}
    variables.update(extra)
    return run_playbook("connect.yml", tmp_path, vars_files=[site.vars_file], extra=variables, check=check, diff=diff)


def disconnect(site, tmp_path, **extra):
    return run_playbook("disconnect.yml", tmp_path, vars_files=[site.vars_file], extra=extra or None)


def sync(site, tmp_path):
    return run_playbook("sync.yml", tmp_path, vars_files=[site.vars_file], extra={"entra_groups": GROUPS})


def record(site):
    return site.state()["coconut"]["integration"]


def test_connect_records_the_integration_without_secrets(site, tmp_path):
    run = connect(site, tmp_path)
    assert run.rc == 0, run.output
    result = run.task("Verify Entra and Coconut")
    assert result["changed"] is True
    assert result["checks"] == ["Entra token", "GroupMember.Read.All", "User.Read.All", "groups", "Coconut API token"]
    saved = record(site)
    assert saved["status"] == "connected"
    assert saved["tenant_id"] == branch.TENANT and saved["client_id"] == branch.APP
    assert saved["groups"] == GROUP_IDS
    assert saved["connected_at"]
    assert branch.SECRET not in str(saved) and branch.API_TOKEN not in str(saved)
    assert branch.SECRET not in run.output and branch.API_TOKEN not in run.output


def test_check_mode_verifies_and_writes_nothing_then_connect_is_idempotent(site, tmp_path):
    check = connect(site, tmp_path, check=True, diff=True)
    assert check.rc == 0, check.output
    result = check.task("Verify Entra and Coconut")
    assert result["changed"] is True
    assert result["diff"]["before"] == {} and result["diff"]["after"]["groups"] == GROUP_IDS
    assert record(site) is None and site.writes("coconut") == []

    first = connect(site, tmp_path)
    assert first.rc == 0, first.output
    connected_at = record(site)["connected_at"]

    site.clear_requests()
    again = connect(site, tmp_path, diff=True)
    assert again.rc == 0, again.output
    assert again.task("Verify Entra and Coconut")["changed"] is False
    assert site.writes("coconut") == []
    assert record(site)["connected_at"] == connected_at


def test_changing_the_groups_updates_the_record_and_shows_the_diff(site, tmp_path):
    assert connect(site, tmp_path).rc == 0
    connected_at = record(site)["connected_at"]
    run = connect(site, tmp_path, diff=True, entra_groups=["Coconut - Tellers"])
    assert run.rc == 0, run.output
    result = run.task("Verify Entra and Coconut")
    assert result["changed"] is True
    assert result["diff"]["before"]["groups"] == GROUP_IDS and result["diff"]["after"]["groups"] == [branch.oid("g-tellers")]
    assert record(site)["groups"] == [branch.oid("g-tellers")]
    assert record(site)["connected_at"] == connected_at, "same app, same connection: connected_at is kept"


@pytest.mark.parametrize("case, expected", [
    ("missing_permission", "User.Read.All"),
    ("unknown_group", "no Entra group named 'Coconut - Nobody'"),
    ("ambiguous_group", "2 Entra groups are named 'Branch Staff'"),
    ("wrong_secret", "AADSTS7000215"),
    ("bad_token", "coconut_api_token"),
])
def test_a_failed_check_names_what_is_missing_and_records_nothing(site, tmp_path, case, expected):
    extra = {}
    if case == "missing_permission":
        site.patch_entra({"applications": {"update": [{"app_id": branch.APP, "roles": ["GroupMember.Read.All"]}]}})
    elif case == "unknown_group":
        extra["entra_groups"] = ["Coconut - Tellers", "Coconut - Nobody"]
    elif case == "ambiguous_group":
        extra["entra_groups"] = ["Branch Staff"]
    elif case == "wrong_secret":
        extra["entra_client_secret"] = "not-the-secret"
    elif case == "bad_token":
        extra["coconut_api_token"] = "not-a-token"
    run = connect(site, tmp_path, **extra)
    assert run.rc != 0
    assert expected in run.output
    assert "Nothing was recorded in Coconut" in run.output
    assert record(site) is None and site.writes("coconut") == []


def test_disconnect_removes_the_record_and_leaves_staff(site, tmp_path):
    assert connect(site, tmp_path).rc == 0
    assert sync(site, tmp_path).rc == 0
    staff_before = site.state()["coconut"]["users"]
    site.clear_requests()
    run = disconnect(site, tmp_path)
    assert run.rc == 0, run.output
    assert record(site) is None
    assert site.state()["coconut"]["users"] == staff_before, "disconnect touched staff"
    assert [(r["method"], r["path"].split("?")[0]) for r in site.writes("coconut")] == [("DELETE", "/api/v2/integrations/entra-id")]
    again = disconnect(site, tmp_path)
    assert again.rc == 0 and again.task("Remove the integration record")["changed"] is False


def test_disconnect_works_without_entra_credentials(site, tmp_path):
    assert connect(site, tmp_path).rc == 0
    coconut_only = tmp_path / "coconut-only.yml"
    coconut_only.write_text(yaml.safe_dump({k: site.vars[k] for k in ("coconut_url", "coconut_api_token", "ca_path")}))
    run = run_playbook("disconnect.yml", tmp_path, vars_files=[coconut_only])
    assert run.rc == 0, run.output
    assert record(site) is None


def test_reconnect_and_sync_create_no_duplicate(site, tmp_path):
    assert connect(site, tmp_path).rc == 0
    first = sync(site, tmp_path)
    assert first.rc == 0, first.output
    staff_count = len(site.state()["coconut"]["users"])
    assert disconnect(site, tmp_path).rc == 0
    assert connect(site, tmp_path).rc == 0
    site.clear_requests()
    second = sync(site, tmp_path)
    assert second.rc == 0, second.output
    assert second.sync["changed"] is False
    assert second.sync["counts"]["create"] == 0
    assert len(site.state()["coconut"]["users"]) == staff_count
    assert not [r for r in site.writes("coconut") if r["path"].startswith("/api/v2/users")]
