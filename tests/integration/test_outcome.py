"""Each sync run's outcome on Coconut's Entra ID integration record, the page an admin opens (issue 12): a good run
records connected and its counts, a refused Entra secret token_revoked, any other error failing in words with no
secret; a check run and a run with nothing to change record nothing; the lease, the delta state and connect.yml's fields survive."""

from __future__ import annotations

import json

import pytest
import yaml

from . import team
from .direct import run_sync
from .playbook import run_playbook

pytestmark = pytest.mark.integration

CONNECTED = {"status": "connected", "tenant_id": None, "client_id": None, "groups": [team.GROUP],
             "connected_at": "2026-01-05T09:00:00Z", "last_sync_at": None, "last_sync": None}


def scenario(integration="connected"):
    result = team.scenario()
    result["coconut"]["integration"] = json.loads(json.dumps(CONNECTED if integration == "connected" else integration))
    return result


@pytest.fixture
def site(module_sandbox):
    module_sandbox.reset(scenario())
    return module_sandbox


def record(site):
    return site.state()["coconut"]["integration"]


def secrets(site):
    state = site.state()
    return [site.vars["coconut_api_token"], site.vars["entra_client_secret"]] + [
        s["text"] for app in state["entra"]["applications"] for s in app.get("secrets") or []]


def test_a_good_run_records_connected_with_its_counts_and_keeps_the_rest_of_the_record(site):
    run = run_sync(site, delta_state="coconut")
    assert run.ok, run.msg
    after = record(site)
    last = after["last_sync"]
    assert after["status"] == "connected" and after["last_sync_at"] == last["at"]
    assert (last["mode"], last["status"], last["changed"]) == ("apply", "connected", True)
    assert last["counts"] == {k: v for k, v in run.result["counts"].items() if isinstance(v, int)} and last["counts"]["create"] > 0
    assert last["scope"] == run.result["scope"] and "error" not in last
    assert after["delta_state"]["links"], "the delta state saved by the same run is kept"
    assert after["connected_at"] == CONNECTED["connected_at"] and after["groups"] == [team.GROUP]
    assert not (after.get("lease") or {}).get("holder"), "the run's own lease was released, not written back"
    assert run.result["outcome"] == {"recorded": True, "status": "connected", "mode": "apply"}
    # A run with nothing to change writes nothing of its own (product.md: idempotent), takes no lease, and leaves the
    # record saying connected, with the last run that changed something.
    site.clear_requests()
    again = run_sync(site, delta_state="coconut")
    assert again.ok and again.result["changed"] is False
    assert record(site)["last_sync"] == last and record(site)["delta_state"]
    assert again.result["outcome"]["recorded"] is False and "writes nothing" in again.result["outcome"]["reason"]
    # One write, to the record: the delta state this site keeps there (entra_delta_state: coconut); no outcome, no
    # lease, no staff.
    assert [(r["method"], r["path"]) for r in site.writes("coconut")] == [("PUT", "/api/v2/integrations/entra-id")]


def test_a_check_run_records_nothing_and_leaves_another_runs_lease_alone(site):
    lease = {"holder": "other-run", "host": "awx-node-2", "pid": 4242, "started_at": "2026-01-05T09:00:00Z",
             "expires_at": "2099-01-01T00:00:00Z"}
    site.reset(scenario(dict(CONNECTED, lease=lease, lease_epoch=7)))
    run = run_sync(site, check_mode=True)
    assert run.ok, run.msg
    after = record(site)
    assert after["lease"] == lease and after["lease_epoch"] == 7
    # Check mode writes nothing (product.md), to the integration record neither; the result says what it found.
    assert after["last_sync"] is None and after["last_sync_at"] is None and after["status"] == "connected"
    assert not after.get("last_check")
    assert site.writes("coconut") == []
    assert run.result["outcome"]["recorded"] is False and run.result["outcome"]["status"] == "connected"


def test_a_revoked_entra_secret_records_token_revoked_and_the_run_still_fails_with_its_own_message(site):
    app = site.state()["entra"]["applications"][0]
    site.patch_entra({"applications": {"update": [{"app_id": app["app_id"], "secrets": []}]}})
    run = run_sync(site)
    assert not run.ok and "AADSTS7000215" in run.msg, run.msg
    after = record(site)
    assert after["status"] == "token_revoked"
    assert after["last_sync"]["status"] == "token_revoked" and "AADSTS7000215" in after["last_sync"]["error"]
    assert run.error.details["outcome"]["recorded"] is True
    assert not any(secret in json.dumps(after) for secret in secrets(site) + [app["secrets"][0]["text"]])


def test_any_other_error_records_failing_in_words_with_no_secret(site):
    token = site.vars["coconut_api_token"]
    site.faults([{"service": "graph", "path": r"/members", "status": 500, "times": None,
                  "body": {"error": {"code": "InternalServerError", "message": "boom for Bearer %s and eyJa.eyJb.sig" % token}}}])
    run = run_sync(site, http_options={"sleep": lambda seconds: None})
    assert not run.ok
    after = record(site)
    last = after["last_sync"]
    assert last["status"] == "failing" and "Microsoft Graph answered 500 InternalServerError" in last["error"], last
    assert after["status"] == "connected", "Coconut's API knows no 'failing' status: the record's own status is kept"
    assert "eyJ" not in json.dumps(after) and not any(secret in json.dumps(after) for secret in secrets(site))
    assert [r for r in site.writes("coconut") if "/users" in r["path"]] == []


def test_without_an_integration_record_nothing_is_recorded_and_the_result_says_why(site):
    site.reset(scenario(integration=None))
    run = run_sync(site)
    assert run.ok, run.msg
    assert run.result["outcome"]["recorded"] is False and "no Entra ID integration record" in run.result["outcome"]["reason"]
    assert [r for r in site.writes("coconut") if "integrations" in r["path"]] == [] and record(site) is None


def test_staff_info_and_the_report_show_the_record(site, tmp_path):
    assert run_sync(site).ok
    report = tmp_path / "report.html"
    run = run_sync(site, check_mode=True, report=str(report))
    assert run.ok, run.msg
    line = json.loads(report.with_suffix(".json").read_text())["integration"]
    assert line.startswith("Coconut's Entra ID integration: connected · last sync ") and ": connected (" in line
    assert line in report.read_text().replace("&#39;", "'") and "Before this run: " in report.with_suffix(".md").read_text()

    vars_file = tmp_path / "vars.yml"
    vars_file.write_text(yaml.safe_dump(site.vars))
    playbook = tmp_path / "info.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": [{
        "coconut.entra.staff_info": {"coconut_url": "{{ coconut_url }}", "coconut_api_token": "{{ coconut_api_token }}",
                                     "ca_path": "{{ ca_path }}"}, "register": "info"}]}]))
    info = run_playbook(playbook, tmp_path, vars_files=[vars_file])
    assert info.rc == 0, info.output
    integration = info.results[-1]["result"]["integration"]
    assert integration["status"] == "connected" and integration["last_sync"]["status"] == "connected"
    assert not integration.get("last_check") and "lease" not in integration and "delta_state" not in integration
