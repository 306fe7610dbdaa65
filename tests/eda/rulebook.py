"""Run the collection's rulebook with the real ansible-rulebook against the sandbox, and watch Coconut follow."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RULEBOOK = ROOT / "extensions" / "eda" / "rulebooks" / "sync.yml"
INVENTORY = "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
RUN_END = "PLAY RECAP"


def rulebook_vars(sandbox, workdir, **extra):
    """vars.yml as a user writes it: the sandbox's connection, plus the rulebook's own variables."""
    variables = {k: v for k, v in sandbox.vars.items() if k not in ("sandbox_url", "entra_app_object_id")}
    variables.update(entra_poll_interval=5, entra_events_state=str(Path(workdir) / "events.json"))
    variables.update(extra)
    return variables


class Rulebook:
    """ansible-rulebook running extensions/eda/rulebooks/sync.yml from the repository root, its output in a log file."""

    def __init__(self, workdir, variables, verbosity="-vv"):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.variables = variables
        self.verbosity = verbosity
        self.log_path = self.workdir / "rulebook.log"
        self.process = None

    def start(self):
        vars_file = self.workdir / "vars.yml"
        vars_file.write_text(yaml.safe_dump(self.variables))
        os.chmod(vars_file, 0o600)
        inventory = self.workdir / "inventory.yml"
        inventory.write_text(INVENTORY)
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"), PATH="%s:%s" % (BIN, os.environ.get("PATH", "")),
                   ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_LOCALHOST_WARNING="0")
        cmd = [str(BIN / "ansible-rulebook"), "--rulebook", str(RULEBOOK.relative_to(ROOT)), "--inventory", str(inventory),
               "--vars", str(vars_file)] + ([self.verbosity] if self.verbosity else [])
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def runs(self):
        """Sync runs finished so far (each prints one PLAY RECAP)."""
        return self.log().count(RUN_END)

    def wait_runs(self, count, timeout=120):
        deadline = time.monotonic() + timeout
        while self.runs() < count:
            if self.process.poll() is not None:
                raise AssertionError("ansible-rulebook ended (rc %s):\n%s" % (self.process.returncode, self.log()[-5000:]))
            if time.monotonic() > deadline:
                raise AssertionError("waited %ds for sync run %d:\n%s" % (timeout, count, self.log()[-5000:]))
            time.sleep(0.2)

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # the JVM and any playbook still running
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)


def wait_for(check, timeout=60, step=0.2):
    """Poll `check()` until it is truthy; returns its value, or fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, getattr(check, "__name__", check)))
        time.sleep(step)


def staff_by_object_id(sandbox):
    found = {}
    for staff in sandbox.state()["coconut"]["users"]:
        oid = (staff.get("integration") or {}).get("object_id")
        if oid:
            found.setdefault(oid, []).append(staff)
    return found


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]
