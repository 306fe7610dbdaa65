"""Check mode as a CI gate: `--check -e coconut_fail_on_drift=true` fails exactly when a change is pending.

Like `terraform plan -detailed-exitcode`: CI tells "no changes" (exit 0) from "changes pending" (non-zero, one line
naming the counts), after the diff has been shown, and keeps the report's JSON and Markdown either way.
"""

from __future__ import annotations

import json
import re

import pytest

from . import branch
from .playbook import run_playbook

pytestmark = pytest.mark.integration

DRIFT_LINE = re.compile(r"^fatal: \[localhost\]: FAILED! => .*\"msg\": \"(drift: [^\"]*)\"", re.MULTILINE)
GATE_LINE = re.compile(r"^fatal: \[localhost\]: FAILED! => .*\"msg\": \"([^\"]*)\"", re.MULTILINE)


def make_site(start_sandbox, tmp_path, scenario=None):
    return start_sandbox(scenario or branch.scenario())


@pytest.fixture
def site(start_sandbox, tmp_path):
    return make_site(start_sandbox, tmp_path)


def sync(site, tmp_path, check=True, **extra):
    variables = {"entra_groups": branch.GROUPS}
    variables.update(extra)
    return run_playbook("sync.yml", tmp_path, vars_files=[site.vars_file], extra=variables, check=check, diff=check)


def gate(site, tmp_path, report=None, **extra):
    """The CI command: --check --diff with the drift gate on, and a report when asked."""
    if report:
        extra["coconut_sync_report"] = str(report)
    return sync(site, tmp_path, check=True, coconut_fail_on_drift=True, **extra)


def test_drift_gate_fails_with_one_line_naming_the_counts_and_keeps_the_report(site, tmp_path):
    report = tmp_path / "reports" / "sync.html"
    result = gate(site, tmp_path, report=report)
    assert result.rc == 2, result.output
    assert DRIFT_LINE.findall(result.stdout) == [
        "drift: Coconut differs from Entra (1 create, 3 update, 1 restore, 2 archive); run sync.yml without --check to apply"]
    assert "+job_title: Senior Teller" in result.stdout, "the diff is shown before the gate fails"
    assert result.stdout.index("+job_title: Senior Teller") < result.stdout.index("drift: Coconut differs")
    assert site.writes() == []

    # The JSON and the Markdown are written although the run failed: they are what CI keeps and posts.
    data = json.loads(report.with_suffix(".json").read_text())
    assert data["mode"] == "check"
    assert {k: data["counts"][k] for k in ("create", "update", "restore", "archive")} == \
        {"create": 1, "update": 3, "restore": 1, "archive": 2}
    pending = {(c["action"], c["display_name"]) for c in data["changes"]}
    assert len(data["changes"]) == 7, data["changes"]
    assert ("create", "Linus Pauling") in pending
    assert {"Barbara Liskov", "Edsger Dijkstra", "Alan Turing", "Katherine Johnson", "Ada Lovelace"} <= {n for _a, n in pending}
    markdown = report.with_suffix(".md").read_text()
    assert markdown.startswith("### Coconut staff sync: CHECK, nothing was written")
    for name in ("Linus Pauling", "Alan Turing", "Barbara Liskov", "Margaret Hamilton"):
        assert name in markdown
    assert report.exists()


def test_drift_gate_passes_when_nothing_is_pending_and_fails_on_a_single_change(site, tmp_path):
    applied = sync(site, tmp_path, check=False, coconut_fail_on_drift=True)
    assert applied.rc == 0, applied.output
    assert applied.sync["changed"] is True, "a real run applies: the gate is for --check"
    site.clear_requests()

    report = tmp_path / "sync.html"
    clean = gate(site, tmp_path, report=report)
    assert clean.rc == 0, clean.output
    assert clean.sync["changed"] is False
    assert "Coconut differs" not in clean.stdout
    assert json.loads(report.with_suffix(".json").read_text())["changes"] == []
    assert "No changes" in report.with_suffix(".md").read_text()

    # Margaret is still a possible duplicate: no drift, but a decision for a person.
    undecided = gate(site, tmp_path, coconut_fail_on_conflicts=True)
    assert undecided.rc == 2, undecided.output
    assert GATE_LINE.findall(undecided.stdout) == [
        "0 conflict(s) and 1 possible duplicate(s) need a decision (coconut_fail_on_conflicts is true); nothing was written"]

    site.patch_entra({"users": {"update": [{"id": branch.oid("alan"), "jobTitle": "Branch Manager"}]}})
    pending = gate(site, tmp_path)
    assert pending.rc == 2, pending.output
    assert DRIFT_LINE.findall(pending.stdout) == [
        "drift: Coconut differs from Entra (1 update); run sync.yml without --check to apply"]
    assert site.writes() == []


def test_conflicts_gate_fails_on_a_conflict_and_passes_once_it_is_resolved(start_sandbox, tmp_path):
    scenario = branch.scenario()
    scenario["coconut"]["users"] = [s for s in scenario["coconut"]["users"] if s["id"] != 105]  # no possible duplicate
    twin = branch.staff(301, "Linus", "Pauling", "linus.pauling@mapleridge.example")
    scenario["coconut"]["users"] += [twin, dict(twin, id=302)]
    site = make_site(start_sandbox, tmp_path, scenario)

    result = sync(site, tmp_path, check=True, coconut_fail_on_conflicts=True)
    assert result.rc == 2, result.output
    assert GATE_LINE.findall(result.stdout) == [
        "1 conflict(s) and 0 possible duplicate(s) need a decision (coconut_fail_on_conflicts is true); nothing was written"]
    assert "conflict: Entra user Linus Pauling" in result.output

    site.patch_coconut({"users": {"remove": [302]}})  # support removed the duplicate staff member
    resolved = sync(site, tmp_path, check=True, coconut_fail_on_conflicts=True)
    assert resolved.rc == 0, resolved.output
    assert resolved.sync["changed"] is True


def test_conflicts_gate_stops_a_real_run_before_any_write(site, tmp_path):
    result = sync(site, tmp_path, check=False, coconut_fail_on_conflicts=True)
    assert result.rc == 2, result.output
    assert "0 conflict(s) and 1 possible duplicate(s) need a decision" in result.output
    assert site.writes() == []
