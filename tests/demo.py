"""`make demo`: the main job against the sandbox, as a user would run it.

Starts the sandbox with the demo scenario (a credit union branch), previews the sync with
--check --diff, applies it, runs it again to show nothing is left to do, and points at the report.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SCENARIO = ROOT / "tests" / "sandbox" / "scenarios" / "demo.yml"
REPORT_DIR = ROOT / "artifacts" / "demo"


def banner(text):
    line = "=" * 78
    print("\n%s\n  %s\n%s" % (line, text, line), flush=True)


def start_sandbox(workdir):
    vars_file = workdir / "sandbox-vars.yml"
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "sandbox" / "serve.py"), "--scenario", str(SCENARIO),
                             "--vars-out", str(vars_file)], cwd=ROOT)
    deadline = time.monotonic() + 30
    while not vars_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            sys.exit("the sandbox did not start (exit %s)" % proc.poll())
        time.sleep(0.1)
    return proc, vars_file


def show_state(sandbox_vars):
    import requests

    state = requests.get(sandbox_vars["sandbox_url"] + "/state", verify=sandbox_vars["ca_path"], timeout=10).json()
    users = {u["id"]: u for u in state["entra"].get("users", [])}
    print("Entra tenant %s" % state["entra"]["tenant_id"])
    for group in state["entra"].get("groups", []):
        members = [users[m] for m in group.get("members", []) if m in users]
        disabled = sum(1 for m in members if not m.get("accountEnabled", True))
        print("  group %-28s %2d members (%d disabled)" % (group["displayName"], len(members), disabled))
    staff = state["coconut"].get("users", [])
    synced = sum(1 for s in staff if s.get("integration"))
    print("Coconut site %s: %d staff, %d synced (✓), %d not (–)" % (state["coconut"].get("site"), len(staff), synced, len(staff) - synced))
    return [g["displayName"] for g in state["entra"].get("groups", [])]


def playbook(args, env):
    cmd = [str(BIN / "ansible-playbook"), "playbooks/sync.yml"] + args
    print("$ ansible-playbook " + " ".join(cmd[1:]), flush=True)
    return subprocess.run(cmd, cwd=ROOT, env=env, check=False).returncode


def main():
    with tempfile.TemporaryDirectory(prefix="coconut-demo-") as tmp:
        workdir = Path(tmp)
        proc, vars_file = start_sandbox(workdir)
        try:
            sandbox_vars = yaml.safe_load(vars_file.read_text())
            banner("The sandbox: Entra ID, Microsoft Graph and Coconut on this machine")
            groups = show_state(sandbox_vars)
            REPORT_DIR.mkdir(parents=True, exist_ok=True)
            inventory_vars = workdir / "demo-vars.yml"
            inventory_vars.write_text(yaml.safe_dump({
                # Each group's members join the Coconut staff group of the same kind.
                "entra_groups": [{"group": name, "user_group": name.replace("Coconut - ", "")} for name in groups],
                "coconut_staff_mapping": {"external_id": "user.employeeId"},
            }))
            env = dict(os.environ, ANSIBLE_NOCOLOR="0", ANSIBLE_FORCE_COLOR="1", PATH="%s:%s" % (BIN, os.environ.get("PATH", "")))
            common = ["-e", "@%s" % vars_file, "-e", "@%s" % inventory_vars]
            banner("1. Preview: what would change (check mode, nothing is written)")
            rc = playbook(common + ["--check", "--diff", "-e", "coconut_sync_report=%s" % (REPORT_DIR / "check.html")], env)
            if rc:
                sys.exit(rc)
            banner("2. Apply")
            rc = playbook(common + ["-e", "coconut_sync_report=%s" % (REPORT_DIR / "report.html")], env)
            if rc:
                sys.exit(rc)
            banner("3. Run again: nothing left to do (changed=0)")
            rc = playbook(common, env)
            if rc:
                sys.exit(rc)
            banner("After the sync")
            show_state(sandbox_vars)
            print("\nThe report of the real run: %s (open it in a browser; JSON and Markdown beside it)"
                  % (REPORT_DIR / "report.html"))
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    main()
