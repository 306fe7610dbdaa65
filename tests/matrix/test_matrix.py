"""Every ansible-core x Python pair the collection declares runs the user's playbooks end to end against the sandbox.

Per pair (test id = the pair): one sandbox, the pair's venv (tests/matrix/venvs.py, made once and reused), and
three ansible-playbook runs with that pair's Ansible:
  1. sync.yml --check --diff                                   a preview that changes and writes nothing
  2. sync.yml, sync.yml, connect.yml, rotate_token.yml          apply (changed), apply again (changed=0),
                                                                connect, rotate both credentials (vaulted file)
  3. report.yml, disconnect.yml, with the rotated credentials  a report that plans nothing, then disconnect
No Python traceback and no deprecation warning in any of them.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from integration import branch
from integration.playbook import run_playbook
from integration.test_rotation import live_tokens, make_site, read_credentials

from .venvs import PAIRS, ensure

pytestmark = [pytest.mark.integration, pytest.mark.matrix]

SYNC_TASK = "Reconcile staff"
# Deprecation warnings on, whatever the environment says: a newer ansible-core's complaints must show.
LOUD = {"ANSIBLE_DEPRECATION_WARNINGS": "1"}


def succeeded(pair, run, what):
    """The run's failures, named with the pair and the step, or an empty string."""
    problems = []
    if run.rc != 0:
        problems.append(f"exit {run.rc}")
    problems += [f"task {r['task']!r} failed: {r['result'].get('msg', '')}" for r in run.results if r["status"] == "failed"]
    for marker in ("Traceback (most recent call last)", "[DEPRECATION WARNING]", "module_stderr"):
        if marker in run.output:
            problems.append(f"{marker!r} in the output")
    if not problems:
        return ""
    return f"{pair}, {what}: {'; '.join(problems)}\n--- output (last 6000 characters) ---\n{run.output[-6000:]}"


def results(run, task):
    return [r["result"] for r in run.results if task in r["task"]]


@pytest.mark.parametrize("pair", PAIRS, ids=str)
def test_the_playbooks_run_end_to_end(pair, start_sandbox, tmp_path):
    bin_dir = ensure(pair)
    site = make_site(start_sandbox, tmp_path, branch.scenario(), propagation=0)
    old_secret_id = site.state()["entra"]["applications"][0]["secrets"][0]["key_id"]

    def play(playbooks, **kwargs):
        started = time.monotonic()
        try:
            return run_playbook(playbooks, tmp_path, vars_files=[site.connection_file, site.credentials_file], bin_dir=bin_dir,
                                args=["--vault-password-file", str(site.password_file)], env=LOUD, **kwargs)
        finally:
            print(f"{pair}: {playbooks} {time.monotonic() - started:.1f} s")

    # 1. The preview: changes planned, nothing written.
    preview = play("sync.yml", extra={"entra_groups": branch.GROUPS}, check=True, diff=True)
    assert not succeeded(pair, preview, "sync.yml --check --diff"), succeeded(pair, preview, "sync.yml --check --diff")
    planned = results(preview, SYNC_TASK)[-1]
    assert planned["changed"] is True and planned["diff"], f"{pair}: the preview planned nothing"
    assert site.writes() == [], f"{pair}: the preview wrote {site.writes()}"

    # 2. Apply, apply again, connect, rotate.
    report = tmp_path / "report.html"
    run = play(["sync.yml", "sync.yml", "connect.yml", "rotate_token.yml"],
               extra={"entra_groups": branch.GROUPS, "credentials_file": str(site.credentials_file)})
    assert not succeeded(pair, run, "sync, sync, connect, rotate_token"), succeeded(pair, run, "sync, sync, connect, rotate_token")
    applied, again = results(run, SYNC_TASK)
    assert applied["changed"] is True and applied["counts"] == planned["counts"], f"{pair}: the apply did not do what the preview said"
    assert again["changed"] is False, f"{pair}: a second apply changed {again['counts']}"
    state = site.state()
    assert state["coconut"]["integration"]["status"] == "connected", f"{pair}: connect.yml recorded {state['coconut']['integration']}"
    new = read_credentials(site)
    assert [s["text"] for s in state["entra"]["applications"][0]["secrets"]] == [new["entra_client_secret"]], f"{pair}: secrets after rotation"
    assert new["entra_client_secret"] != site.old["entra_client_secret"], f"{pair}: the Entra secret was not rotated"
    assert state["entra"]["applications"][0]["secrets"][0]["key_id"] != old_secret_id
    assert [t["value"] for t in live_tokens(site)] == [new["coconut_api_token"]], f"{pair}: Coconut tokens after rotation"

    # 3. With the rotated credentials: the report plans nothing, then disconnect.
    after = play(["report.yml", "disconnect.yml"], extra={"entra_groups": branch.GROUPS, "coconut_sync_report": str(report)})
    assert not succeeded(pair, after, "report, disconnect"), succeeded(pair, after, "report, disconnect")
    reported = results(after, SYNC_TASK)[-1]
    assert reported["changed"] is False, f"{pair}: the report after the apply plans {reported['counts']}"
    assert report.is_file() and Path(reported["report"]["json"]).is_file(), f"{pair}: report.yml wrote no report"
    assert json.loads(Path(reported["report"]["json"]).read_text()), f"{pair}: the JSON report is empty"
    assert site.state()["coconut"]["integration"] is None, f"{pair}: disconnect.yml left {site.state()['coconut']['integration']}"
