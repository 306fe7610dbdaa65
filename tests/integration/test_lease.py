"""One applying run per site: the lease in the integration record, with the sandbox's own 409 switched off."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import threading
import time

import pytest
import yaml

from sandbox.client import make_scenario

from .direct import run_sync
from .playbook import ROOT, VENV_BIN, run_playbook

pytestmark = pytest.mark.integration

USERS = 40
RECORD = {"status": "connected", "tenant_id": None, "client_id": None, "groups": [], "connected_at": "2026-01-01T00:00:00Z"}


def scenario():
    # No 409 for a second staff member with the same object id: only the lease keeps two runs apart.
    return make_scenario(users=USERS, integration=dict(RECORD), coconut={"unique_object_id": False})


@pytest.fixture
def site(start_sandbox, tmp_path):
    scene = scenario()
    site = start_sandbox(scene)
    site.group_id = scene["entra"]["groups"][0]["id"]
    site.vars_file = tmp_path / "sandbox-vars.yml"
    site.vars_file.write_text(yaml.safe_dump(site.vars))
    return site


def object_id_counts(site):
    return collections.Counter((s.get("integration") or {}).get("object_id") for s in site.state()["coconut"]["users"])


def record(site):
    return site.state()["coconut"]["integration"]


def live_lease(**fields):
    lease = {"holder": "someone-else", "host": "cron-box", "pid": 4242, "started_at": "2026-01-01T00:00:00Z",
             "expires_at": "2099-01-01T00:00:00Z"}
    lease.update(fields)
    return lease


def test_two_applying_runs_started_together_create_each_staff_member_once(site):
    outcomes, barrier = [], threading.Barrier(2)

    def sync():
        barrier.wait()
        outcomes.append(run_sync(site, groups=[site.group_id]))

    threads = [threading.Thread(target=sync), threading.Thread(target=sync)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(outcome.ok for outcome in outcomes), outcomes
    counts = object_id_counts(site)
    assert len(counts) == USERS and set(counts.values()) == {1}, "duplicates: %s" % {k: v for k, v in counts.items() if v > 1}
    # One of them created everyone; the other, run after it under the lease, found nothing to do.
    assert sorted(outcome.result["counts"]["create"] for outcome in outcomes) == [0, USERS]
    assert "lease" not in record(site), "the lease was not released"
    assert record(site)["status"] == "connected"


def test_a_held_lease_stops_the_playbook_with_one_line_naming_the_holder(site, tmp_path):
    site.patch_coconut({"integration": dict(RECORD, lease=live_lease())})
    site.clear_requests()
    run = run_playbook("sync.yml", tmp_path, vars_files=[site.vars_file],
                       extra={"entra_groups": [site.group_id], "coconut_lease_wait": 0})
    assert run.rc != 0
    # Ansible's one [ERROR] line (the fatal result repeats it as JSON).
    lines = [line for line in run.output.splitlines() if line.startswith("[ERROR]") and "another sync is applying to this site" in line]
    assert len(lines) == 1, run.output
    assert "cron-box" in lines[0] and "4242" in lines[0] and "coconut_lease_wait" in lines[0]
    assert site.writes("coconut") == [], "a run that did not get the lease wrote something"


def test_a_run_with_nothing_to_change_takes_no_lease_and_writes_nothing(site):
    assert run_sync(site, groups=[site.group_id]).ok
    site.patch_coconut({"integration": dict(record(site), lease=live_lease())})
    site.clear_requests()
    outcome = run_sync(site, groups=[site.group_id], lease_wait=0)
    assert outcome.ok, outcome
    assert outcome.result["changed"] is False
    # Nothing, not even its outcome: the record already says connected (outcome.py), and the lease is another run's.
    assert site.writes("coconut") == [], "a run with nothing to change wrote to Coconut"
    assert record(site)["lease"]["holder"] == "someone-else"


def test_a_plan_made_before_another_run_applied_is_made_again_under_the_lease(site):
    # The first run applies while the second is reading (its bulk create is slow): the second planned every create
    # too, but under the lease it sees what the first made and writes nothing twice.
    site.faults([{"service": "coconut", "method": "POST", "path": r"^/api/v2/users$", "delay": 4, "times": 1}])
    outcomes = {}
    first = threading.Thread(target=lambda: outcomes.setdefault("first", run_sync(site, groups=[site.group_id])))
    first.start()
    deadline = time.monotonic() + 30
    while not (record(site) or {}).get("lease"):
        assert time.monotonic() < deadline, "the first run never took the lease"
        time.sleep(0.1)
    outcomes["second"] = run_sync(site, groups=[site.group_id], lease_wait=30)
    first.join()
    assert outcomes["first"].ok and outcomes["second"].ok, outcomes
    assert outcomes["first"].result["counts"]["create"] == USERS
    assert outcomes["second"].result["counts"]["create"] == 0
    assert set(object_id_counts(site).values()) == {1} and len(object_id_counts(site)) == USERS


def test_a_run_waits_for_the_lease_and_goes_on_when_it_is_released(site):
    site.patch_coconut({"integration": dict(RECORD, lease=live_lease())})
    timer = threading.Timer(3, lambda: site.patch_coconut({"integration": dict(RECORD)}))
    timer.start()
    try:
        outcome = run_sync(site, groups=[site.group_id], lease_wait=30)
    finally:
        timer.cancel()
    assert outcome.ok, outcome
    assert outcome.result["counts"]["create"] == USERS


def test_the_holder_renews_its_lease_while_it_runs_longer_than_the_ttl(site):
    # The first run's bulk create hangs 9 s (then 503, retried), far longer than its 3 s lease: only renewal keeps the
    # second run, which finds the same creates to make, out.
    site.faults([{"service": "coconut", "method": "POST", "path": r"^/api/v2/users$", "status": 503, "delay": 9, "times": 1}])
    outcomes = {}
    first = threading.Thread(target=lambda: outcomes.setdefault("first", run_sync(site, groups=[site.group_id], lease_ttl=3)))
    first.start()
    deadline = time.monotonic() + 30
    while not (record(site) or {}).get("lease"):
        assert time.monotonic() < deadline, "the first run never took the lease"
        time.sleep(0.1)
    time.sleep(4)  # past the first lease's TTL: held only if renewed
    outcomes["second"] = run_sync(site, groups=[site.group_id], lease_wait=0)
    first.join()
    assert outcomes["first"].ok, outcomes["first"]
    assert not outcomes["second"].ok and "another sync is applying" in outcomes["second"].msg, outcomes["second"]
    assert set(object_id_counts(site).values()) == {1}


def test_check_mode_takes_no_lease(site):
    site.patch_coconut({"integration": dict(RECORD, lease=live_lease())})
    site.clear_requests()
    outcome = run_sync(site, check_mode=True, groups=[site.group_id], lease_wait=0)
    assert outcome.ok, outcome
    assert outcome.result["counts"]["create"] == USERS
    assert site.writes("coconut") == [] and record(site)["lease"]["holder"] == "someone-else"


def test_a_holder_killed_with_sigkill_loses_the_lease_after_its_ttl(site, tmp_path):
    # The holder hangs on its first write (after taking the lease; the write is not served), then is killed.
    site.faults([{"service": "coconut", "method": "POST", "path": r"^/api/v2/users$", "status": 503, "delay": 60, "times": 1}])
    extra = tmp_path / "holder.yml"
    extra.write_text(yaml.safe_dump({"entra_groups": [site.group_id], "coconut_lease_ttl": 3}))
    holder = subprocess.Popen([str(VENV_BIN / "ansible-playbook"), str(ROOT / "playbooks" / "sync.yml"), "-e", "@%s" % site.vars_file,
                               "-e", "@%s" % extra], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env=dict(os.environ, PATH="%s:%s" % (VENV_BIN, os.environ.get("PATH", ""))), start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not record(site).get("lease"):
            assert time.monotonic() < deadline, "the holder never took the lease"
            assert holder.poll() is None, "the holder ended before it was killed"
            time.sleep(0.2)
        held = record(site)["lease"]
        time.sleep(1.5)  # into its first write, which hangs
        # The process holding the lease is the module's (Ansible runs it in a session of its own): the lease names it.
        os.kill(held["pid"], signal.SIGKILL)
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
    outcome = run_sync(site, groups=[site.group_id], lease_wait=30)
    assert outcome.ok, outcome
    assert outcome.result["counts"]["create"] == USERS
    assert any("took over an expired sync lease" in w and str(held["pid"]) in w for w in outcome.warnings), outcome.warnings
    assert set(object_id_counts(site).values()) == {1}
    assert "lease" not in record(site)


def test_a_site_with_no_integration_record_syncs_with_a_warning(site):
    site.patch_coconut({"integration": None})
    outcome = run_sync(site, groups=[site.group_id])
    assert outcome.ok, outcome
    assert any("connect.yml" in w and "lease" in w for w in outcome.warnings), outcome.warnings
    assert record(site) is None, "the lease made an integration record"


def test_the_lease_keeps_the_record_and_the_delta_state(site, tmp_path):
    outcome = run_sync(site, groups=[site.group_id], delta_state="coconut")
    assert outcome.ok, outcome
    after = record(site)
    assert after["status"] == "connected" and after["connected_at"] == RECORD["connected_at"]
    assert after["delta_state"]["links"], "the delta state was lost"
    assert "lease" not in after


@pytest.mark.parametrize("name, value", [("lease_wait", -1), ("lease_ttl", 1), ("lease_ttl", "soon")])
def test_a_bad_lease_option_is_named_before_anything_is_read(site, name, value):
    site.clear_requests()
    outcome = run_sync(site, groups=[site.group_id], **{name: value})
    assert not outcome.ok
    assert "coconut_" + name in outcome.msg
    assert site.requests("graph") == [] and site.requests("coconut") == []
