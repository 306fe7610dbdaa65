"""A synced staff member archived by hand in Coconut while their Entra user is still in a selected group is restored
by the next run; the diff, the report and a warning at default verbosity say so and what to do instead (issue 12)."""

from __future__ import annotations

import json

import pytest
import yaml

from ansible_collections.coconut.entra.plugins.module_utils.coconut import CoconutClient

from . import team
from .direct import run_sync
from .playbook import run_playbook

pytestmark = pytest.mark.integration

REASON = ("archived in Coconut but a member of Coconut - Team in Entra, so restored; "
          "to archive them, remove them from the group in Entra")


def scenario():
    return team.scenario()


def archive_by_hand(site, staff_id):
    """What an admin does on the Users tab: archive through Coconut's API, with the site's token."""
    client = CoconutClient(site.vars["coconut_url"], site.vars["coconut_api_token"], ca_path=site.ca_path)
    try:
        client.update_staff(staff_id, {"status": "archived"})
    finally:
        client.close()


def person_of(site, staff_id):
    user = next(u for u in site.state()["coconut"]["users"] if str(u["id"]) == str(staff_id))
    return "%s %s" % (user["first_name"], user["last_name"]), user["email"]


def status_of(site, staff_id):
    return next(u["status"] for u in site.state()["coconut"]["users"] if str(u["id"]) == str(staff_id))


def test_staff_archived_by_hand_but_still_in_the_group_is_restored_and_the_run_says_why(module_sandbox, tmp_path):
    site = module_sandbox
    site.reset(scenario())
    first = run_sync(site, archive_threshold="50%")
    assert first.ok, first.msg
    staff_id = "102"  # team.scenario(): synced, active, its user in the team group
    assert status_of(site, staff_id) == "active"
    archive_by_hand(site, staff_id)
    assert status_of(site, staff_id) == "archived"

    # The preview, as an admin runs it: the warning at default verbosity and the diff say what happened and what to do.
    vars_file = tmp_path / "sandbox-vars.yml"
    vars_file.write_text(yaml.safe_dump(site.vars))
    site.clear_requests()
    preview = run_playbook("sync.yml", tmp_path, vars_files=[vars_file], extra={"entra_groups": [team.GROUP]}, check=True, diff=True)
    assert preview.rc == 0, preview.output
    assert site.writes("coconut") == []
    assert "[WARNING]: restore " in preview.output and "(staff %s): %s" % (staff_id, REASON) in preview.output.replace("\n", " ")
    assert "+++ after: restore " in preview.output and ", staff %s: %s" % (staff_id, REASON) in preview.output
    assert "back in scope" not in preview.output

    # The real run restores, with the same words in the warnings and the report (JSON why, Markdown, HTML).
    report = tmp_path / "report.html"
    applied = run_sync(site, report=str(report))
    assert applied.ok, applied.msg
    assert status_of(site, staff_id) == "active"
    assert [w for w in applied.warnings if w.startswith("restore ")] == [
        "restore %s <%s> (staff %s): %s" % (*person_of(site, staff_id), staff_id, REASON)]
    data = json.loads(report.with_suffix(".json").read_text())
    restored = [c for c in data["changes"] if c["action"] == "restore"]
    assert [c["why"] for c in restored] == [REASON]
    assert "| restore | " in report.with_suffix(".md").read_text() and REASON in report.with_suffix(".md").read_text()
    assert REASON in report.read_text()
    again = run_sync(site)
    assert again.ok and again.result["changed"] is False and not [w for w in again.warnings if w.startswith("restore ")]
