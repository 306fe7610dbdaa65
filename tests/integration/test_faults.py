"""Faults injected by the sandbox: every run converges or fails with a clear message; a rerun always converges;
nobody is ever created twice. The desired state is computed from the scenario (team.py), not by the planner."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml

from . import team
from .direct import run_sync
from .playbook import ROOT, VENV_BIN, run_playbook

pytestmark = pytest.mark.integration

MEMBERS = r"/groups/[^/]+/members"
USERS = r"/api/v2/users"
# A fast backoff for the tests that exhaust every retry: they are about the message, not the timing.
FAST = {"backoff_base": 0.02, "backoff_cap": 0.1}


@pytest.fixture
def site(start_sandbox):
    sandbox = start_sandbox(team.scenario())
    assert team.differences(sandbox.state()), "the scenario must start away from the desired state"
    return sandbox


def assert_converged(site):
    problems = team.differences(site.state())
    assert problems == [], "\n".join(problems)


def assert_rerun_converges(site):
    rerun = run_sync(site)
    assert rerun.ok, rerun.msg
    assert_converged(site)
    again = run_sync(site)
    assert again.ok and again.result["changed"] is False, again


def statuses(site, service, path_part, method=None):
    return [r["status"] for r in site.requests(service, method) if path_part in r["path"]]


# ---- throttling ------------------------------------------------------------------------------

@pytest.mark.parametrize("service, method, path, retry_after", [
    ("graph", "GET", MEMBERS, "1"),
    ("graph", "GET", MEMBERS, "0.35"),
    ("coconut", "GET", USERS + r"\?", "1"),
    ("coconut", "POST", USERS, "0.4"),
    ("coconut", "PATCH", USERS, "0.25"),
    ("login", "POST", r"/token", "0.3"),
], ids=["graph-integer", "graph-fractional", "coconut-read-integer", "coconut-create-fractional",
        "coconut-update-fractional", "login-fractional"])
def test_429_storm_is_waited_out_honouring_retry_after(site, service, method, path, retry_after):
    storm = 2 if float(retry_after) >= 1 else 3
    site.faults([{"service": service, "method": method, "path": path, "status": 429, "times": storm,
                  "headers": {"Retry-After": retry_after}}])
    started = time.monotonic()
    outcome = run_sync(site)
    elapsed = time.monotonic() - started
    assert outcome.ok, outcome.msg
    assert_converged(site)
    answered = [r["status"] for r in site.requests(service, method) if r["status"] == 429]
    assert answered == [429] * storm, "every throttled request was repeated"
    assert elapsed >= storm * float(retry_after) * 0.9, "Retry-After was not honoured (%.2f s)" % elapsed


def test_429_storm_longer_than_the_retries_fails_clearly_before_any_write(site):
    site.faults([{"service": "graph", "path": MEMBERS, "status": 429, "times": None, "headers": {"Retry-After": "0.05"}}])
    outcome = run_sync(site, http_options=FAST)
    assert not outcome.ok
    assert "Microsoft Graph answered 429" in outcome.msg and "after 6 attempts" in outcome.msg
    assert "try again later" in outcome.msg and "members of Entra group" in outcome.msg
    assert site.write_count("coconut") == 0
    site.faults([])
    assert_rerun_converges(site)


# ---- server errors ---------------------------------------------------------------------------

@pytest.mark.parametrize("status", [502, 503, 504])
@pytest.mark.parametrize("service, method, path", [
    ("graph", "GET", MEMBERS), ("coconut", "GET", USERS + r"\?"), ("coconut", "POST", USERS), ("coconut", "PATCH", USERS),
], ids=["graph-read", "coconut-read", "coconut-create", "coconut-update"])
def test_transient_server_errors_are_retried(site, status, service, method, path):
    site.faults([{"service": service, "method": method, "path": path, "status": status, "times": 2}])
    outcome = run_sync(site, http_options=FAST)
    assert outcome.ok, outcome.msg
    assert statuses(site, service, path.split("\\")[0].split("[")[0], method).count(status) == 2
    assert_converged(site)


@pytest.mark.parametrize("method, what", [("POST", "creating 8 Coconut staff in bulk"), ("PATCH", "updating")])
def test_a_500_on_a_bulk_write_fails_naming_each_staff_member_and_a_rerun_converges(site, method, what):
    site.faults([{"service": "coconut", "method": method, "path": USERS, "status": 500, "times": 1}])
    outcome = run_sync(site)
    assert not outcome.ok
    assert "Coconut answered 500" in outcome.msg and what in outcome.msg
    assert "run the sync again" in outcome.msg
    failed = outcome.error.details["failed"]
    assert failed and all(f["action"] in ("create", "update", "archive") for f in failed)
    assert all(f["display_name"] in outcome.msg for f in failed), "each staff member is named"
    assert_rerun_converges(site)


def test_a_500_on_a_graph_read_fails_before_any_write(site):
    site.faults([{"service": "graph", "path": MEMBERS, "status": 500}])
    outcome = run_sync(site)
    assert not outcome.ok
    assert "Microsoft Graph answered 500" in outcome.msg and "reading the direct members" in outcome.msg
    assert site.write_count("coconut") == 0
    assert_rerun_converges(site)


# ---- dropped connections and slow answers ----------------------------------------------------

@pytest.mark.parametrize("service, method, path", [
    ("login", "POST", r"/token"), ("graph", "GET", MEMBERS), ("coconut", "GET", USERS + r"\?"),
    ("coconut", "POST", USERS), ("coconut", "PATCH", USERS),
])
def test_connection_reset_is_retried(site, service, method, path):
    site.faults([{"service": service, "method": method, "path": path, "reset": True, "times": 2}])
    outcome = run_sync(site, http_options=FAST)
    assert outcome.ok, outcome.msg
    assert [r for r in site.requests(service, method) if r["status"] is None], "the fault never fired"
    assert_converged(site)


def test_a_service_that_keeps_dropping_the_connection_fails_clearly(site):
    site.faults([{"service": "coconut", "method": "GET", "path": USERS, "reset": True, "times": None}])
    outcome = run_sync(site, http_options=FAST)
    assert not outcome.ok
    assert outcome.msg.startswith("cannot reach Coconut at https://127.0.0.1:"), outcome.msg
    assert "after 6 attempts" in outcome.msg and "check the URL / network" in outcome.msg
    assert site.write_count("coconut") == 0
    site.faults([])
    assert_rerun_converges(site)


def test_a_bulk_create_whose_answer_is_lost_converges_through_409_without_a_duplicate(site):
    # Coconut creates the staff, but answers after the client gave up: the repeat meets 409 duplicate_object_id.
    site.faults([{"service": "coconut", "method": "POST", "path": USERS, "delay": 2.5, "times": 1}])
    outcome = run_sync(site, timeout=1)
    assert outcome.ok, outcome.msg
    assert outcome.result["applied"]["converged_conflicts"] == 8
    # The lost answer is logged once the sandbox gives up waiting for the client.
    assert wait_until(lambda: statuses(site, "coconut", "/api/v2/users", "POST") == [200, 200], timeout=5)
    assert_converged(site)


def test_a_bulk_update_whose_answer_is_lost_is_repeated(site):
    site.faults([{"service": "coconut", "method": "PATCH", "path": USERS, "delay": 2.5, "times": 1}])
    outcome = run_sync(site, timeout=1)
    assert outcome.ok, outcome.msg
    assert_converged(site)


def test_answers_slower_than_the_timeout_every_time_fail_clearly(site):
    site.faults([{"service": "coconut", "method": "GET", "path": USERS, "delay": 1.6, "times": None}])
    outcome = run_sync(site, timeout=1, http_options=dict(FAST, max_attempts=3))
    assert not outcome.ok
    assert "cannot reach Coconut" in outcome.msg and "timed out" in outcome.msg and "after 3 attempts" in outcome.msg
    assert site.write_count("coconut") == 0
    site.faults([])
    assert_rerun_converges(site)


# ---- an access token that expires mid-run ----------------------------------------------------

def test_graph_token_expiring_mid_run_is_renewed_once(site):
    # The token served the group lookup; by the members read Graph calls it expired.
    site.faults([{"service": "graph", "path": MEMBERS, "status": 401, "body": {"error": {
        "code": "InvalidAuthenticationToken", "message": "Lifetime validation failed, the token is expired."}}}])
    outcome = run_sync(site)
    assert outcome.ok, outcome.msg
    assert len(site.requests("login", "POST")) == 2, "a new token was fetched once"
    assert_converged(site)


def test_graph_rejecting_every_token_fails_clearly(site):
    site.faults([{"service": "graph", "path": MEMBERS, "status": 401, "times": None}])
    outcome = run_sync(site)
    assert not outcome.ok
    assert "Microsoft Graph answered 401" in outcome.msg and "entra_graph_url" in outcome.msg
    assert site.write_count("coconut") == 0


def test_short_lived_graph_tokens_with_a_slow_network(start_sandbox):
    scenario = team.scenario()
    scenario["entra"]["token_lifetime_seconds"] = 2
    site = start_sandbox(scenario, latency_ms=150)
    outcome = run_sync(site)
    assert outcome.ok, outcome.msg
    assert_converged(site)


# ---- per-item failures inside a bulk write ---------------------------------------------------

def test_an_email_coconut_would_refuse_fails_before_any_write_skip_syncs_the_rest_and_a_fixed_rerun_converges(start_sandbox):
    # The planner catches what Coconut's validation would refuse (issue 15), so the run fails before any write
    # instead of failing that one item at apply time; with invalid_users: skip everyone else is applied.
    scenario = team.scenario()
    bad = scenario["entra"]["users"][5]
    bad["mail"] = "not an email"
    site = start_sandbox(scenario)
    outcome = run_sync(site)
    assert not outcome.ok
    assert "cannot be mapped to Coconut staff, so nothing was written" in outcome.msg
    assert bad["displayName"] in outcome.msg and "'not an email', which is not an email address" in outcome.msg
    assert site.write_count() == 0
    assert run_sync(site, invalid_users="skip").ok
    problems = team.differences(site.state())
    assert problems == ["no staff for Entra user %s (not an email)" % bad["id"]], "everyone else was applied"
    site.patch_entra({"users": {"update": [{"id": bad["id"], "mail": "fixed@mapleridge.example"}]}})
    assert_rerun_converges(site)


def test_per_item_server_errors_in_a_bulk_answer_are_listed_and_a_rerun_converges(site):
    items = 8  # the scenario's creates, one bulk document
    errors = [{"status": "503", "code": "temporarily_unavailable", "title": "Try again", "source": {"pointer": "/data/%d" % i}}
              for i in range(items)]
    site.faults([{"service": "coconut", "method": "POST", "path": USERS, "status": 200,
                  "body": {"data": [None] * items, "errors": errors}}])
    outcome = run_sync(site)
    assert not outcome.ok
    assert "%d change(s) to Coconut staff failed" % items in outcome.msg and "temporarily_unavailable" in outcome.msg
    assert len(outcome.error.details["failed"]) == items
    assert outcome.error.details["applied"]["updated"], "the updates went ahead"
    assert_rerun_converges(site)


# ---- through the playbook --------------------------------------------------------------------

def playbook_sync(site, tmp_path, **extra):
    vars_file = Path(tmp_path) / "sandbox-vars.yml"
    if not vars_file.exists():
        vars_file.write_text(yaml.safe_dump(site.vars))
    variables = {"entra_groups": [team.GROUP], "coconut_archive_threshold": "50%"}
    variables.update(extra)
    return run_playbook("sync.yml", tmp_path, vars_files=[vars_file], extra=variables)


def test_throttling_on_both_sides_through_the_playbook(site, tmp_path):
    site.faults([
        {"service": "graph", "path": MEMBERS, "status": 429, "times": 2, "headers": {"Retry-After": "0.5"}},
        {"service": "coconut", "method": "POST", "path": USERS, "status": 429, "times": 2, "headers": {"Retry-After": "0.75"}},
        {"service": "coconut", "method": "PATCH", "path": USERS, "status": 503, "times": 1, "headers": {"Retry-After": "1"}},
    ])
    run = playbook_sync(site, tmp_path)
    assert run.rc == 0, run.output
    assert run.sync["counts"]["create"] == 8
    assert_converged(site)


def test_http_timeout_reaches_the_module(site, tmp_path):
    site.faults([{"service": "coconut", "method": "GET", "path": USERS + r"\?", "delay": 2, "times": 1}])
    run = playbook_sync(site, tmp_path, http_timeout=1)
    assert run.rc == 0, run.output
    assert wait_until(lambda: len(statuses(site, "coconut", "/api/v2/users?", "GET")) == 2, timeout=5), \
        "the slow read timed out after 1 s and was repeated"
    assert_converged(site)


# ---- killed mid-apply ------------------------------------------------------------------------

def module_processes(root_pid):
    """Pids of the staff_sync module processes (AnsiballZ wrapper and what it runs) under `root_pid` only:
    other tests (and other people) may be running syncs on this machine too."""
    parents, commands = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            commands[int(entry.name)] = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])

    def descends(pid):
        while pid > 1:
            if pid == root_pid:
                return True
            pid = parents.get(pid, 0)
        return False

    return [pid for pid, command in commands.items() if b"AnsiballZ_staff_sync" in command and descends(pid)]


def start_playbook(site, tmp_path, name, **extra):
    """ansible-playbook sync.yml in the background; returns the Popen (stdout and stderr to files)."""
    tmp_path = Path(tmp_path)
    vars_file = tmp_path / "sandbox-vars.yml"
    vars_file.write_text(yaml.safe_dump(site.vars))
    extra_file = tmp_path / ("%s-extra.yml" % name)
    variables = {"entra_groups": [team.GROUP], "coconut_archive_threshold": "50%"}
    variables.update(extra)
    extra_file.write_text(yaml.safe_dump(variables))
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
               ANSIBLE_CALLBACK_PLUGINS=str(ROOT / "tests" / "integration" / "callback_plugins"),
               ANSIBLE_CALLBACKS_ENABLED="record_results", RECORD_RESULTS_FILE=str(tmp_path / ("%s.jsonl" % name)),
               PATH="%s:%s" % (VENV_BIN, os.environ.get("PATH", "")))
    out = open(tmp_path / ("%s.out" % name), "w")  # noqa: SIM115 - closed by finish()
    process = subprocess.Popen([str(VENV_BIN / "ansible-playbook"), str(ROOT / "playbooks" / "sync.yml"),
                                "-e", "@%s" % vars_file, "-e", "@%s" % extra_file],
                               cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    process.out_file = out
    return process


def finish(process, timeout=180):
    rc = process.wait(timeout=timeout)
    process.out_file.close()
    return rc, Path(process.out_file.name).read_text()


def sync_result(process):
    """What the staff_sync task returned in a background run."""
    record = Path(process.out_file.name).with_suffix(".jsonl")
    lines = [json.loads(line) for line in record.read_text().splitlines() if line.strip()] if record.exists() else []
    found = [line["result"] for line in lines if "Reconcile staff" in line["task"]]
    return found[-1] if found else {}


def wait_until(predicate, timeout=60, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


@pytest.mark.parametrize("seed", [1, 2])
def test_sigkill_during_apply_then_rerun_converges_without_duplicates(start_sandbox, tmp_path, seed):
    rng = random.Random(seed)
    site = start_sandbox(team.scenario(members=240, synced=30, leavers=3))
    # Slow writes (each answered 0.6 s after it is done) give apply a few seconds to be killed in.
    site.faults([{"service": "coconut", "method": method, "path": USERS, "delay": 0.6, "times": None}
                 for method in ("POST", "PATCH")])
    staff_before = len(site.state()["coconut"]["users"])
    process = start_playbook(site, tmp_path, "killed")
    # Kill at a random moment after the first creates are done and before the archives (the last step) are.
    assert wait_until(lambda: len(site.state()["coconut"]["users"]) > staff_before, step=0.05), finish(process)[1]
    time.sleep(rng.uniform(0, 1.0))
    killed = module_processes(process.pid)
    assert killed, "no module process to kill (the run ended early?)"
    for pid in killed:
        os.kill(pid, signal.SIGKILL)
    rc, output = finish(process)
    assert rc != 0, output
    partial = team.differences(site.state())
    assert partial, "the run finished before it was killed: the test proved nothing"
    assert not any("held by" in p or "shared by" in p for p in partial), partial
    site.faults([])
    rerun = playbook_sync(site, tmp_path)
    assert rerun.rc == 0, rerun.output
    assert_converged(site)
    print("seed %d: killed %s; %d difference(s) were left, the rerun did %s" % (seed, killed, len(partial), rerun.sync["counts"]))


# ---- two runs at once ------------------------------------------------------------------------

def test_two_syncs_of_one_site_at_once_create_nobody_twice(start_sandbox, tmp_path):
    site = start_sandbox(team.scenario(members=40, synced=6, leavers=2))
    # Both runs read Coconut before either writes: each read is answered 3 s after it is served.
    site.faults([{"service": "coconut", "method": "GET", "path": USERS + r"\?page=1", "delay": 3, "times": 2}])
    groups = [{"group": team.GROUP, "user_group": "Team"}]
    runs = []
    for name in ("first", "second"):
        (tmp_path / name).mkdir()
        runs.append(start_playbook(site, tmp_path / name, name, entra_groups=groups))
    outcomes = [finish(process) for process in runs]
    results = [sync_result(process) for process in runs]
    converged = [(r.get("applied") or {}).get("converged_conflicts") for r in results]
    print("two syncs at once: rc %s, converged 409s %s" % ([rc for rc, _output in outcomes], converged))
    for rc, output in outcomes:
        assert rc == 0 or "fatal:" in output and "msg" in output, output
    assert any(rc == 0 for rc, _output in outcomes), [output for _rc, output in outcomes]
    state = site.state()
    assert team.duplicates(state["coconut"]) == ({}, {})
    assert [g["name"] for g in state["coconut"]["user_groups"]] == ["Team"], "the user group was created once"
    final = playbook_sync(site, tmp_path, entra_groups=groups)
    assert final.rc == 0, final.output
    assert_converged(site)
    if all(rc == 0 for rc, _output in outcomes):
        assert final.sync["changed"] is False, final.sync["changes"]
        assert sum((r.get("applied") or {}).get("converged_conflicts", 0) for r in results) > 0, \
            "the runs did not overlap: the 409 path was not exercised"


def test_two_runs_creating_the_same_user_group_at_once_share_it(start_sandbox):
    site = start_sandbox(team.scenario(members=10, synced=2, leavers=0))
    # Both runs read before either writes, so both plan to create the user group "Team".
    site.faults([{"service": "coconut", "method": "GET", "path": USERS + r"\?page=1", "delay": 1.5, "times": 2}])
    groups = [{"group": team.GROUP, "user_group": "Team"}]
    outcomes = [None, None]

    def run(index):
        outcomes[index] = run_sync(site, groups=groups)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(outcomes)
    assert all(o.ok for o in outcomes), [o.msg for o in outcomes]
    state = site.state()
    assert [g["name"] for g in state["coconut"]["user_groups"]] == ["Team"]
    assert team.duplicates(state["coconut"]) == ({}, {})
    assert_converged(site)
