"""Delta sync (entra_delta_state): after a full run, a run reads only what changed in Entra, and applies it."""

from __future__ import annotations

import json

import pytest
import yaml

from bench.run import ids, person, scenario

from .playbook import run_playbook

pytestmark = pytest.mark.integration

SIZE = 300


@pytest.fixture
def site(start_sandbox, tmp_path):
    scene = scenario(SIZE, synced=True)
    site = start_sandbox(scene)
    site.vars_file = tmp_path / "sandbox-vars.yml"
    site.vars_file.write_text(yaml.safe_dump(site.vars))
    site.group_id = scene["entra"]["groups"][0]["id"]
    site.users = scene["entra"]["users"]
    site.members = list(scene["entra"]["groups"][0]["members"])
    return site


def sync(site, tmp_path, check=False, **extra):
    variables = {"entra_groups": [site.group_id], "entra_delta_state": str(tmp_path / "state.json")}
    variables.update(extra)
    return run_playbook("sync.yml", tmp_path, vars_files=[site.vars_file], extra=variables, check=check)


def change_entra(site, seed=1):
    """2 joiners, 1 leaver, 1 rename and 1 disable of members who stay: returns (joiners, leaver, renamed, disabled)."""
    new_id = ids(seed)
    joiners = [person(new_id, 10_000 + seed * 10 + k) for k in range(2)]
    leaver, renamed, disabled = site.users[10 + seed], site.users[20 + seed], site.users[30 + seed]
    site.members = [m for m in site.members if m != leaver["id"]] + [u["id"] for u in joiners]
    updates = [{"id": renamed["id"], "surname": "Renamed"}, {"id": disabled["id"], "accountEnabled": False}]
    site.patch_entra({"users": {"add": joiners, "update": updates},
                      "groups": {"update": [{"id": site.group_id, "members": site.members}]}})
    return joiners, leaver, renamed, disabled


def graph_reads(site):
    return [r["path"] for r in site.requests("graph")]


def staff_by_object_id(site):
    return {(s.get("integration") or {}).get("object_id"): s for s in site.state()["coconut"]["users"]}


def warnings(run):
    return " ".join(run.sync.get("warnings") or [])


def test_after_a_full_run_a_delta_run_reads_only_the_change(site, tmp_path):
    first = sync(site, tmp_path)
    assert first.rc == 0, first.output
    assert first.sync["delta"]["mode"] == "full"
    assert first.sync["changed"] is False
    assert json.loads((tmp_path / "state.json").read_text())["members"][site.group_id]

    joiners, leaver, renamed, disabled = change_entra(site)
    site.clear_requests()
    run = sync(site, tmp_path)
    assert run.rc == 0, run.output
    assert run.sync["delta"] == {"mode": "delta", "state": str(tmp_path / "state.json"), "changed_users": 5}
    counts = run.sync["counts"]
    assert (counts["create"], counts["update"], counts["archive"]) == (2, 1, 2)
    reads = graph_reads(site)
    assert len(reads) < 10, reads
    assert not any("/members" in path for path in reads), "a delta run listed the group"
    # Staff reads only (the site lease reads the integration record too).
    staff_reads = [r["path"] for r in site.requests("coconut", "GET") if r["path"].startswith("/api/v2/users")]
    assert len(staff_reads) == 3 and all("filter%5B" in path or "filter[" in path for path in staff_reads), staff_reads
    # Coconut, the 6 (3 staff reads, one bulk write each for creates, updates, archives), plus the site
    # lease's 4 reads and 2 writes of the integration record (note, take, read back after the settle, release).
    coconut = site.requests("coconut")
    lease = [(r["method"], r["path"]) for r in coconut if r["path"].startswith("/api/v2/integrations")]
    assert len(coconut) - len(lease) == 6, coconut
    assert sorted(lease) == [("GET", "/api/v2/integrations/entra-id")] * 4 + [("PUT", "/api/v2/integrations/entra-id")] * 2, lease

    staff = staff_by_object_id(site)
    assert all(staff[u["id"]]["status"] == "active" for u in joiners)
    assert staff[leaver["id"]]["status"] == "archived"
    assert staff[disabled["id"]]["status"] == "archived"
    assert staff[renamed["id"]]["last_name"] == "Renamed"

    # Nothing changed since: a delta run with nothing to do, and a full run agrees.
    again = sync(site, tmp_path)
    assert again.rc == 0, again.output
    assert (again.sync["delta"]["mode"], again.sync["changed"]) == ("delta", False)
    kept_by_delta = json.loads((tmp_path / "state.json").read_text())
    full = sync(site, tmp_path, entra_full_sync=True)
    assert full.rc == 0, full.output
    assert (full.sync["delta"]["mode"], full.sync["changed"]) == ("full", False)
    # The members and disabled users a delta run keeps (worked out from the stored lists and the change) are the ones
    # a full run lists, in the same order.
    kept_by_full = json.loads((tmp_path / "state.json").read_text())
    assert (kept_by_delta["members"], kept_by_delta["disabled"]) == (kept_by_full["members"], kept_by_full["disabled"])
    assert kept_by_full["members"][site.group_id] == sorted(site.members) and kept_by_full["disabled"] == [disabled["id"]]


def test_state_in_the_coconut_integration_record(site, tmp_path):
    first = sync(site, tmp_path, entra_delta_state="coconut")
    assert first.rc == 0, first.output
    record = site.state()["coconut"]["integration"]
    assert record["status"] == "connected" and record["delta_state"]["links"], "the record lost its fields or got no state"

    change_entra(site)
    site.clear_requests()
    run = sync(site, tmp_path, entra_delta_state="coconut")
    assert run.rc == 0, run.output
    assert run.sync["delta"]["mode"] == "delta"
    assert (run.sync["counts"]["create"], run.sync["counts"]["archive"]) == (2, 2)
    assert len(graph_reads(site)) < 10


def test_coconut_state_needs_the_integration_record(site, tmp_path):
    site.patch_coconut({"integration": None})
    run = sync(site, tmp_path, entra_delta_state="coconut")
    assert run.rc != 0
    assert "connect.yml" in run.output


def test_expired_links_fall_back_to_a_full_run(site, tmp_path):
    assert sync(site, tmp_path).rc == 0
    site.invalidate_delta_tokens()
    change_entra(site)
    run = sync(site, tmp_path)
    assert run.rc == 0, run.output
    assert run.sync["delta"]["mode"] == "full"
    assert "410" in warnings(run)
    assert run.sync["counts"]["create"] == 2
    after = sync(site, tmp_path)
    assert after.sync["delta"]["mode"] == "delta", "the full run did not save new links"


def test_a_changed_mapping_starts_from_a_full_run(site, tmp_path):
    assert sync(site, tmp_path).rc == 0
    run = sync(site, tmp_path, coconut_staff_mapping={"job_title": "user.department"}, coconut_force_archive=False)
    assert run.rc == 0, run.output
    assert run.sync["delta"]["mode"] == "full"
    assert "mapping" in warnings(run)
    assert run.sync["counts"]["update"] == SIZE


def test_check_mode_never_writes_the_state(site, tmp_path):
    state = tmp_path / "state.json"
    check = sync(site, tmp_path, check=True)
    assert check.rc == 0, check.output
    assert check.sync["delta"]["mode"] == "full"
    assert not state.exists(), "check mode wrote the delta state"

    assert sync(site, tmp_path).rc == 0
    saved = state.read_text()
    change_entra(site)
    before = site.state()["coconut"]["users"]
    check = sync(site, tmp_path, check=True)
    assert check.rc == 0, check.output
    assert check.sync["delta"]["mode"] == "delta"
    assert check.sync["counts"]["create"] == 2
    assert state.read_text() == saved
    assert site.state()["coconut"]["users"] == before

    # The real run still sees the change the check run previewed.
    run = sync(site, tmp_path)
    assert (run.sync["delta"]["mode"], run.sync["counts"]["create"]) == ("delta", 2)


def test_the_archive_threshold_holds_on_a_delta_run(site, tmp_path):
    assert sync(site, tmp_path).rc == 0
    leavers = set(site.members[:60])  # 20% of the synced staff
    site.members = [m for m in site.members if m not in leavers]
    site.patch_entra({"groups": {"update": [{"id": site.group_id, "members": site.members}]}})
    saved = (tmp_path / "state.json").read_text()
    run = sync(site, tmp_path)
    assert run.rc != 0
    assert "coconut_archive_threshold" in run.output
    assert (tmp_path / "state.json").read_text() == saved, "a failed run saved its links"
    assert all(s["status"] == "active" for s in site.state()["coconut"]["users"])

    forced = sync(site, tmp_path, coconut_force_archive=True)
    assert forced.rc == 0, forced.output
    assert (forced.sync["delta"]["mode"], forced.sync["counts"]["archive"]) == ("delta", 60)


def test_an_emptied_group_does_not_archive_everyone_on_a_delta_run(site, tmp_path):
    assert sync(site, tmp_path).rc == 0
    site.patch_entra({"groups": {"update": [{"id": site.group_id, "members": []}]}})
    run = sync(site, tmp_path, coconut_archive_threshold="100%")
    assert run.rc != 0
    assert "no enabled users" in run.output
