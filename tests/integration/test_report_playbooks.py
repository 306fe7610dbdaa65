"""The report as users get it: report.yml writes nothing; a check run's report and the real run's list the same changes."""

from __future__ import annotations

import json

import pytest

from . import branch
from .playbook import run_playbook
from .test_sync import make_site, staff_by_id, sync

pytestmark = pytest.mark.integration


@pytest.fixture
def site(start_sandbox, tmp_path):
    return make_site(start_sandbox, tmp_path, branch.scenario())


def comparable(changes):
    """A change as both reports show it; a created staff member's id, and a new staff group's id in its before and
    after, are only known after the real run (its `fields` show the group by name in both)."""
    def without_ids(change):
        shown = {k: v for k, v in change.items() if k not in ("id",)}
        for side in ("before", "after"):
            shown[side] = {k: v for k, v in change[side].items() if k != "user_group_id"}
        return shown

    return sorted(json.dumps(without_ids(c), sort_keys=True) for c in changes)


def test_report_playbook_writes_nothing_and_says_where_the_page_is(site, tmp_path):
    before = site.state()
    result = run_playbook("report.yml", tmp_path, vars_files=[site.vars_file], extra={"entra_groups": branch.GROUPS},
                          env={"PWD": str(tmp_path)})
    assert result.rc == 0, result.output
    page = tmp_path / "coconut-sync-report-localhost.html"
    assert page.exists() and page.with_suffix(".json").exists() and page.with_suffix(".md").exists()
    assert str(page) in result.stdout, "the run tells the user where the report is"
    assert site.writes() == [] and site.state() == before
    data = json.loads(page.with_suffix(".json").read_text())
    assert data["mode"] == "check" and data["counts"]["create"] == 1


def test_check_report_and_real_report_list_the_same_changes(site, tmp_path):
    check = sync(site, tmp_path, check=True, coconut_sync_report=str(tmp_path / "check.html"))
    assert check.rc == 0, check.output
    real = sync(site, tmp_path, coconut_sync_report=str(tmp_path / "real.html"))
    assert real.rc == 0, real.output
    planned = json.loads((tmp_path / "check.json").read_text())
    applied = json.loads((tmp_path / "real.json").read_text())
    assert planned["mode"] == "check" and applied["mode"] == "apply"
    assert planned["changes"] and comparable(planned["changes"]) == comparable(applied["changes"])
    assert planned["counts"] == applied["counts"]
    synced_after = {u["id"] for u in applied["users"] if u["synced"]}
    assert {str(s["id"]) for s in staff_by_id(site).values() if s.get("integration")} == synced_after, \
        "the real run's Users tab is Coconut as it is after the run"


def test_archive_unsynced_duplicates_shows_in_check_mode_then_archives(start_sandbox, tmp_path):
    scenario = branch.scenario()
    # A hand-made second record of Alan (synced as 103) with his email: a duplicate in the Users tab.
    scenario["coconut"]["users"].append(branch.staff(150, "Alan", "Turing", "alan.turing@mapleridge.example"))
    site = make_site(start_sandbox, tmp_path, scenario)
    check = sync(site, tmp_path, check=True, diff=True, coconut_archive_unsynced_duplicates=True, coconut_archive_threshold=5)
    assert check.rc == 0, check.output
    planned = [c for c in check.sync["changes"] if c["action"] == "archive" and c["id"] == "150"]
    assert planned and planned[0]["reason"] == "unsynced_duplicate"
    assert "archive Alan Turing <alan.turing@mapleridge.example>, staff 150" in check.stdout
    assert staff_by_id(site)["150"]["status"] == "active" and site.writes() == []

    real = sync(site, tmp_path, coconut_archive_unsynced_duplicates=True, coconut_archive_threshold=5)
    assert real.rc == 0, real.output
    staff = staff_by_id(site)
    assert staff["150"]["status"] == "archived" and staff["150"]["integration"] is None, "archived, never deleted or adopted"
    assert staff["103"]["status"] == "active"


def test_archive_unsynced_duplicates_respects_the_threshold(start_sandbox, tmp_path):
    scenario = branch.scenario()
    scenario["coconut"]["users"].append(branch.staff(150, "Alan", "Turing", "alan.turing@mapleridge.example"))
    site = make_site(start_sandbox, tmp_path, scenario)
    result = sync(site, tmp_path, check=True, coconut_archive_unsynced_duplicates=True)
    assert result.rc != 0, "two leavers and one duplicate are three archives, over 10% of 23 synced staff"
    assert "threshold" in result.output and site.writes() == []
