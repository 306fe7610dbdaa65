"""Soak: many consecutive syncs through sync.yml, with random membership churn and random injected faults.

    python tests/soak.py [--iterations 50] [--seed N] [--members 30]        (make soak)

Each iteration changes Entra at random (joiners, leavers, renames, email changes, disables,
re-enables, new job titles, rejoins), injects 0-2 random faults into the sandbox, and runs
sync.yml. After every successful run Coconut's staff must equal the desired state, computed
from the scenario alone (tests/integration/team.py, not the collection's planner). A run
failed by a fault is rerun at once without faults and must converge. After every run, no
Entra user may be held by two staff members and no email shared. Prints the counts; exits 1
on any mismatch.
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / ".collections", ROOT / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import yaml  # noqa: E402 - after the path setup

from sandbox.client import start  # noqa: E402
from tests.integration import team  # noqa: E402
from tests.integration.playbook import run_playbook  # noqa: E402

MEMBERS = r"/groups/[^/]+/members"
USERS = r"^/api/v2/users"
# Seconds to wait for each answer: short, so a "lost answer" fault costs little.
HTTP_TIMEOUT = 2


def fault_menu(rng):
    """(kind, fault spec, whether the run is expected to survive it)."""
    status = rng.choice([502, 503, 504])
    return rng.choice([
        ("graph 429 (fractional Retry-After)", {"service": "graph", "path": MEMBERS, "status": 429, "times": rng.randint(1, 3),
                                                "headers": {"Retry-After": "%.3f" % rng.uniform(0.05, 1.2)}}, True),
        ("coconut 429 on a write", {"service": "coconut", "method": rng.choice(["POST", "PATCH"]), "path": USERS, "status": 429,
                                    "times": rng.randint(1, 2), "headers": {"Retry-After": "1"}}, True),
        ("coconut 429 on a read", {"service": "coconut", "method": "GET", "path": USERS, "status": 429, "times": 1,
                                   "headers": {"Retry-After": "0.5"}}, True),
        ("%d on a Coconut call" % status, {"service": "coconut", "method": rng.choice(["GET", "POST", "PATCH"]), "path": USERS,
                                           "status": status, "times": rng.randint(1, 2)}, True),
        ("%d on Graph" % status, {"service": "graph", "path": MEMBERS, "status": status, "times": 1}, True),
        ("connection reset", dict(rng.choice([{"service": "graph", "path": MEMBERS}, {"service": "coconut", "path": USERS}]),
                                  reset=True, times=1), True),
        ("login reset", {"service": "login", "method": "POST", "path": "/token", "reset": True, "times": 1}, True),
        ("expired Graph token", {"service": "graph", "path": MEMBERS, "status": 401, "body": {"error": {
            "code": "InvalidAuthenticationToken", "message": "Lifetime validation failed, the token is expired."}}}, True),
        ("lost answer to a create", {"service": "coconut", "method": "POST", "path": USERS, "delay": HTTP_TIMEOUT + 1.5,
                                     "times": 1}, True),
        ("lost answer to an update", {"service": "coconut", "method": "PATCH", "path": USERS, "delay": HTTP_TIMEOUT + 1.5,
                                      "times": 1}, True),
        ("500 on a bulk update", {"service": "coconut", "method": "PATCH", "path": USERS, "status": 500, "times": 1}, False),
        ("per-item errors in a bulk create", {"service": "coconut", "method": "POST", "path": USERS, "status": 200, "times": 1,
                                              "body": {"data": [], "errors": [
                                                  {"status": "503", "code": "temporarily_unavailable",
                                                   "source": {"pointer": "/data/%d" % i}} for i in range(100)]}}, False),
    ])


class Soak:
    def __init__(self, iterations=50, seed=None, members=30, workdir=None, out=print):
        self.iterations = iterations
        self.seed = seed if seed is not None else random.randrange(1 << 30)
        self.rng = random.Random(self.seed)
        self.members = members
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="coconut-soak-"))
        self.out = out
        self.counts = collections.Counter()
        self.churn = collections.Counter()
        self.faults = collections.Counter()
        self.fired = collections.Counter()
        self.actions = collections.Counter()
        self.failures = collections.Counter()
        self.problems = []

    def run(self):
        started = time.monotonic()
        scenario = team.scenario(members=self.members, synced=self.members // 3, leavers=2)
        sandbox = start(scenario, self.workdir / "sandbox")
        try:
            self.vars_file = self.workdir / "sandbox-vars.yml"
            self.vars_file.write_text(yaml.safe_dump(sandbox.vars))
            counter = [len(scenario["entra"]["users"])]
            self.out("soak: %d iterations, seed %d, %d members to start, workdir %s" % (self.iterations, self.seed, self.members,
                                                                                        self.workdir))
            for iteration in range(1, self.iterations + 1):
                self.iteration(sandbox, iteration, counter)
            self.final = sandbox.state()
        finally:
            sandbox.stop()
        self.elapsed = time.monotonic() - started
        self.report()
        return not self.problems

    def iteration(self, sandbox, iteration, counter):
        entra, done = team.churn(sandbox.state()["entra"], self.rng, counter)
        sandbox.patch_entra({"users": entra["users"], "groups": entra["groups"]})
        for change in done:
            self.churn[change.split()[0]] += 1
        chosen = [fault_menu(self.rng) for _index in range(self.rng.choice([0, 1, 1, 2]))]
        sandbox.faults([spec for _kind, spec, _survives in chosen])
        for kind, _spec, _survives in chosen:
            self.faults[kind] += 1
        run = self.sync(sandbox, "run %d" % iteration)
        fired = sandbox.control("GET", "/faults") or []
        for (kind, _spec, _survives), state in zip(chosen, fired, strict=True):
            if state.get("fired"):
                self.fired[kind] += 1
        sandbox.faults([])
        line = "%3d  %-60s  faults: %-45s " % (iteration, "; ".join(done)[:60], ", ".join(k for k, _s, _v in chosen)[:45] or "-")
        if run.rc == 0:
            self.out(line + "ok %s" % self.summary(run))
            return
        reason = self.reason(run)
        self.failures[reason.split(":")[0]] += 1
        expected = any(not survives for _kind, _spec, survives in chosen)
        if not expected:
            self.problems.append("iteration %d failed under faults that should be survived (%s): %s" % (
                iteration, ", ".join(k for k, _s, _v in chosen), reason))
        rerun = self.sync(sandbox, "rerun %d" % iteration)
        self.counts["reruns"] += 1
        if rerun.rc != 0:
            self.problems.append("iteration %d: the rerun failed too: %s" % (iteration, self.reason(rerun)))
        self.out(line + "failed (%s); rerun %s" % (reason[:70], "ok " + self.summary(rerun) if rerun.rc == 0 else "FAILED"))

    def sync(self, sandbox, label):
        # The soak checks convergence under churn and faults, not the archive threshold (tested on its own): its first
        # sync archives the scenario's leavers on top of the first churn's removals, which at 12 members could pass 50%
        # of 5 synced staff (seed 1005061803) and fail every run of it. Any archive the churn makes is allowed.
        variables = {"entra_groups": [team.GROUP], "coconut_archive_threshold": "100%", "http_timeout": HTTP_TIMEOUT}
        run = run_playbook("sync.yml", self.workdir, vars_files=[self.vars_file], extra=variables)
        self.counts["runs"] += 1
        state = sandbox.state()
        same_oid, same_email = team.duplicates(state["coconut"])
        if same_oid or same_email:
            self.problems.append("%s left duplicates: %s %s" % (label, same_oid, same_email))
        if run.rc == 0:
            self.counts["ok"] += 1
            differences = team.differences(state)
            if differences:
                self.problems.append("%s succeeded but Coconut is not the desired state: %s" % (label, differences[:5]))
            counts = run.sync.get("counts") or {}
            for action in ("create", "update", "archive", "restore"):
                self.actions[action] += counts.get(action, 0)
            self.actions["converged 409"] += (run.sync.get("applied") or {}).get("converged_conflicts", 0)
        else:
            self.counts["failed"] += 1
        return run

    @staticmethod
    def summary(run):
        counts = run.sync.get("counts") or {}
        return " ".join("%s %d" % (k[0], counts.get(k, 0)) for k in ("create", "update", "archive", "restore"))

    @staticmethod
    def reason(run):
        for result in reversed(run.results):
            msg = (result.get("result") or {}).get("msg")
            if msg:
                return msg[:160]
        return "rc %d" % run.rc

    def report(self):
        staff = self.final["coconut"]["users"]
        wanted = team.desired(self.final["entra"])
        self.out("")
        self.out("soak figures (seed %d, %.0f s)" % (self.seed, self.elapsed))
        self.out("  syncs run:          %d (%d ok, %d failed by injected faults, %d immediate reruns)" % (
            self.counts["runs"], self.counts["ok"], self.counts["failed"], self.counts["reruns"]))
        self.out("  churn applied:      %s" % ", ".join("%s %d" % kv for kv in sorted(self.churn.items())))
        faults = ", ".join("%s %d/%d" % (k, self.fired[k], v) for k, v in sorted(self.faults.items()))
        self.out("  faults injected:    %d (%d fired): %s" % (sum(self.faults.values()), sum(self.fired.values()), faults))
        self.out("  run failures:       %s" % (", ".join("%s x%d" % kv for kv in self.failures.items()) or "none"))
        self.out("  staff changes:      %s" % ", ".join("%s %d" % kv for kv in sorted(self.actions.items())))
        self.out("  final:              %d Entra users in scope, %d staff (%d active, %d archived)" % (
            len(wanted), len(staff), sum(1 for s in staff if s["status"] == "active"), sum(1 for s in staff if s["status"] == "archived")))
        self.out("  duplicates:         %d; mismatches after a successful run: %d" % (
            sum(1 for p in self.problems if "duplicates" in p), sum(1 for p in self.problems if "not the desired" in p)))
        for problem in self.problems:
            self.out("  PROBLEM: " + problem)
        self.out("  result:             %s" % ("PASS" if not self.problems else "FAIL (%d problems)" % len(self.problems)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--members", type=int, default=30)
    args = parser.parse_args(argv)
    return 0 if Soak(args.iterations, args.seed, args.members).run() else 1


if __name__ == "__main__":
    sys.exit(main())
