"""Continuous sync across a restart, through faults, and in check-only mode (a rulebook of their own each)."""

from __future__ import annotations

import json
import subprocess
import time

import pytest
import yaml

from sandbox.client import make_scenario, staff_from, synced

from integration.collection import build_tarball, user_env
from integration.playbook import VENV_BIN
from .rulebook import Rulebook, rulebook_vars, staff_by_object_id, wait_for

pytestmark = pytest.mark.integration

MEMBERS = 10


def scenario():
    scene = make_scenario(users=MEMBERS + 10, integration={"status": "connected", "groups": []})
    people = scene["entra"]["users"]
    scene["entra"]["groups"][0]["members"] = [u["id"] for u in people[:MEMBERS]]
    scene["coconut"]["users"] = [staff_from(u, integration=synced(u)) for u in people[:MEMBERS]]
    return scene


@pytest.fixture
def site(start_sandbox):
    scene = scenario()
    site = start_sandbox(scene)
    site.scene = scene
    site.group_id = scene["entra"]["groups"][0]["id"]
    site.people = scene["entra"]["users"]
    return site


@pytest.fixture
def rulebooks():
    running = []
    yield running
    for rulebook in running:
        rulebook.stop()


def launch(site, rulebooks, workdir, **extra):
    rulebook = Rulebook(workdir, rulebook_vars(site, workdir.parent, entra_groups=[site.group_id], entra_poll_interval=3, **extra))
    rulebooks.append(rulebook.start())
    return rulebook


def members(site):
    return list(next(g for g in site.state()["entra"]["groups"] if g["id"] == site.group_id)["members"])


def staff_writes(site):
    return [r for r in site.writes("coconut") if r["path"].startswith("/api/v2/users")]


def test_changes_made_while_it_was_stopped_are_applied_once_after_a_restart(site, rulebooks, tmp_path):
    first = launch(site, rulebooks, tmp_path / "first")
    first.wait_runs(1, timeout=180)
    first.stop()
    joiner, leaver, renamed = site.people[MEMBERS], site.people[0], site.people[1]
    site.patch_entra({"users": {"update": [{"id": renamed["id"], "surname": "WhileStopped"}]},
                      "groups": {"update": [{"id": site.group_id, "members": [m for m in members(site) if m != leaver["id"]] + [joiner["id"]]}]}})
    site.clear_requests()
    second = launch(site, rulebooks, tmp_path / "second")
    second.wait_runs(1, timeout=180)
    assert "startup event, 3 changed user(s)" in second.log(), "the source did not report what changed while it was stopped"

    def applied():
        staff = staff_by_object_id(site)
        return (len(staff.get(joiner["id"]) or []) == 1 and staff[joiner["id"]][0]["status"] == "active"
                and staff[leaver["id"]][0]["status"] == "archived" and staff[renamed["id"]][0]["last_name"] == "WhileStopped")
    wait_for(applied, timeout=60)
    time.sleep(8)  # the polls after the catch-up: nothing more to apply
    staff = staff_by_object_id(site)
    assert all(len(records) == 1 for records in staff.values()), "a duplicate"
    # One create, one rename, one archive: each written once.
    writes = staff_writes(site)
    assert len(writes) <= 3, writes


def test_it_keeps_running_through_graph_and_coconut_faults_and_loses_nothing(site, rulebooks, tmp_path):
    rulebook = launch(site, rulebooks, tmp_path / "rulebook")
    rulebook.wait_runs(1, timeout=180)
    # The token lives 3 s from now on; Graph throttles and fails polls; Graph forgets every delta link.
    site.patch_entra({"token_lifetime_seconds": 3})
    site.faults([{"service": "graph", "method": "GET", "path": "delta", "status": 429, "headers": {"Retry-After": "1.5"}, "times": 3},
                 {"service": "graph", "method": "GET", "path": "delta", "status": 503, "times": 3}])
    joiners = [u["id"] for u in site.people[MEMBERS:MEMBERS + 3]]
    site.patch_entra({"groups": {"update": [{"id": site.group_id, "members": members(site) + joiners[:1]}]}})
    wait_for(lambda: len(staff_by_object_id(site).get(joiners[0]) or []) == 1, timeout=90)

    site.invalidate_delta_tokens()
    site.patch_entra({"groups": {"update": [{"id": site.group_id, "members": members(site) + joiners[1:2]}]}})
    wait_for(lambda: len(staff_by_object_id(site).get(joiners[1]) or []) == 1, timeout=90)

    # A sync run that fails: Coconut answers 503 to every write for a while (past the client's own retries).
    site.faults([{"service": "coconut", "method": method, "path": "^/api/v2/users", "status": 503, "times": 8} for method in ("POST", "PATCH")])
    runs = rulebook.runs()
    site.patch_entra({"groups": {"update": [{"id": site.group_id, "members": members(site) + joiners[2:]}]}})
    wait_for(lambda: len(staff_by_object_id(site).get(joiners[2]) or []) == 1, timeout=120)
    assert rulebook.runs() >= runs + 2, "the failed run was not retried"
    assert "Previous run_playbook failed" in rulebook.log() or "503" in rulebook.log()
    staff = staff_by_object_id(site)
    assert all(len(records) == 1 for records in staff.values()), "a duplicate"
    assert all(staff[uid][0]["status"] == "active" for uid in joiners)
    assert rulebook.process.poll() is None, "ansible-rulebook stopped"


def test_check_only_mode_writes_the_report_and_changes_nothing(site, rulebooks, tmp_path):
    site.patch_entra({"groups": {"update": [{"id": site.group_id, "members": members(site)[1:] + [site.people[MEMBERS]["id"]]}]}})
    site.clear_requests()
    epoch = (site.state()["coconut"]["integration"] or {}).get("lease_epoch")
    rulebook = launch(site, rulebooks, tmp_path / "rulebook", coconut_eda_check_only=True)
    rulebook.wait_runs(1, timeout=180)
    report = tmp_path / "coconut-sync-report.json"
    assert report.exists(), rulebook.log()[-3000:]
    data = json.loads(report.read_text())
    assert data["mode"] == "check"
    assert data["counts"]["create"] == 1 and data["counts"]["archive"] == 1
    assert staff_writes(site) == [], "check-only mode wrote to Coconut"
    # Check mode writes nothing, its outcome neither (outcome.py); every take of the lease counts up lease_epoch.
    record = site.state()["coconut"]["integration"] or {}
    assert record.get("lease_epoch") == epoch and not record.get("lease"), "check-only mode took a lease"
    assert site.writes("coconut") == [], "check-only mode wrote to Coconut"


def test_the_installed_collection_runs_as_coconut_entra_sync(site, tmp_path):
    """ansible-rulebook --rulebook coconut.entra.sync, from a directory of the user's, with the built collection installed."""
    home = tmp_path / "home"
    env = user_env(home)
    tarball = build_tarball(tmp_path / "dist")
    install = subprocess.run([str(VENV_BIN / "ansible-galaxy"), "collection", "install", str(tarball)], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=120, check=False)
    assert install.returncode == 0, install.stdout + install.stderr
    work = tmp_path / "work"
    work.mkdir()
    site.patch_entra({"groups": {"update": [{"id": site.group_id, "members": members(site) + [site.people[MEMBERS]["id"]]}]}})
    (work / "vars.yml").write_text(yaml.safe_dump(rulebook_vars(site, work, entra_groups=[site.group_id], entra_poll_interval=3)))
    (work / "inventory.yml").write_text("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n")
    with open(work / "rulebook.log", "wb") as log:
        process = subprocess.Popen([str(VENV_BIN / "ansible-rulebook"), "--rulebook", "coconut.entra.sync", "--inventory", "inventory.yml",
                                    "--vars", "vars.yml"], cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: len(staff_by_object_id(site).get(site.people[MEMBERS]["id"]) or []) == 1, timeout=120)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
