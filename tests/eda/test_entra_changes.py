"""The event source coconut.entra.entra_changes, driven directly (main(queue, args)) against the sandbox."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import runpy
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.client import make_scenario

ROOT = Path(__file__).resolve().parents[2]
LINKED = ROOT / ".collections" / "ansible_collections" / "coconut" / "entra" / "extensions" / "eda" / "plugins" / "event_source"
SOURCE = runpy.run_path(str(LINKED / "entra_changes.py"))  # as ansible-rulebook loads it
CONNECTION = ("entra_tenant_id", "entra_client_id", "entra_client_secret", "entra_authority_host", "entra_graph_url", "ca_path")


def scenario():
    scene = make_scenario(users=8)
    scene["entra"]["groups"][0]["members"] = [u["id"] for u in scene["entra"]["users"][:6]]  # two users are not members
    return scene


class MockQueue:
    def __init__(self):
        self.events = []

    async def put(self, event):
        self.events.append(event)


@pytest.fixture
def site(module_sandbox, tmp_path):
    scene = scenario()
    module_sandbox.reset(scene)
    module_sandbox.scene = scene
    module_sandbox.group_id = scene["entra"]["groups"][0]["id"]
    module_sandbox.args = {**{k: module_sandbox.vars[k] for k in CONNECTION}, "entra_groups": [module_sandbox.group_id],
                           "state": str(tmp_path / "events.json"), "interval": 1, "max_backoff": 1}
    return module_sandbox


def run(site, polls, source=None, **args):
    queue = MockQueue()
    source = source or SOURCE["EntraChanges"]({**site.args, **args})
    asyncio.run(SOURCE["main"](queue, None, source=source, max_polls=polls))
    return [event["coconut_entra"] for event in queue.events], source


def users(site):
    return site.scene["entra"]["users"]


def test_a_start_gives_one_startup_event_and_then_nothing_until_a_change(site):
    events, _source = run(site, polls=3)
    assert [e["kind"] for e in events] == ["startup"]
    assert events[0]["full_sync"] is True and events[0]["groups"] == [site.group_id]
    state = Path(site.args["state"])
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    assert sorted(json.loads(state.read_text())["members"][site.group_id]) == sorted(u["id"] for u in users(site)[:6])


def test_changes_within_one_interval_are_one_event_with_ids_counts_and_reasons(site):
    _events, source = run(site, polls=1)
    people = users(site)
    joiner = {"id": "0b7c2d6e-1111-4a2b-9c3d-000000000001", "displayName": "Nia Joiner", "givenName": "Nia", "surname": "Joiner",
              "mail": "nia.joiner@contoso.example", "userPrincipalName": "nia.joiner@contoso.example", "accountEnabled": True}
    members = [u["id"] for u in people[1:6]] + [joiner["id"], people[6]["id"]]  # people[0] leaves; people[6] and Nia join
    site.patch_entra({"users": {"add": [joiner], "remove": [people[5]["id"]],
                                "update": [{"id": people[1]["id"], "surname": "Renamed"}, {"id": people[2]["id"], "accountEnabled": False},
                                           {"id": people[7]["id"], "surname": "NotAMember"}]},
                      "groups": {"update": [{"id": site.group_id, "members": members}]}})
    events, _source = run(site, polls=1, source=source)
    assert len(events) == 1
    event = events[0]
    assert event["kind"] == "change" and event["full_sync"] is False
    assert event["counts"] == {"added": 2, "removed": 1, "attribute": 1, "disabled": 1, "deleted": 1}
    assert sorted(event["users"]) == sorted([joiner["id"], people[6]["id"], people[0]["id"], people[1]["id"], people[2]["id"],
                                             people[5]["id"]])
    assert people[7]["id"] not in event["users"], "a change of a non-member made an event"
    text = json.dumps(event)
    for secret in (site.vars["entra_client_secret"], "Renamed", "nia.joiner", "Joiner"):
        assert secret not in text, "the event carries %r" % secret

    quiet, _source = run(site, polls=2, source=source)
    assert quiet == [], "no change, but an event"


def test_a_change_of_someone_outside_the_groups_makes_no_event(site):
    _events, source = run(site, polls=1)
    site.patch_entra({"users": {"update": [{"id": users(site)[7]["id"], "jobTitle": "Elsewhere"}]}})
    events, _source = run(site, polls=1, source=source)
    assert events == []


def test_a_restart_reports_what_changed_while_it_was_stopped(site):
    run(site, polls=1)
    site.patch_entra({"users": {"update": [{"id": users(site)[3]["id"], "accountEnabled": False}]}})
    events, _source = run(site, polls=1)  # a new source, from the saved state
    assert [e["kind"] for e in events] == ["startup"]
    assert events[0]["users"] == [users(site)[3]["id"]] and events[0]["counts"]["disabled"] == 1


def test_a_state_file_whose_links_are_not_its_delta_queries_is_not_trusted(site, caplog):
    run(site, polls=1)
    state = Path(site.args["state"])
    saved = json.loads(state.read_text())
    saved["users_link"] = site.vars["entra_graph_url"] + "/v1.0/users?$select=id,mail"  # another Graph query, same host
    state.write_text(json.dumps(saved))
    site.clear_requests()
    with caplog.at_level(logging.WARNING):
        events, _source = run(site, polls=1)
    assert [(e["kind"], e["full_sync"]) for e in events] == [("startup", True)]
    assert "not trusted" in caplog.text
    assert not any(r["path"].startswith("/v1.0/users?") for r in site.requests()), "the planted link was followed"
    assert json.loads(state.read_text())["users_link"] != saved["users_link"], "the planted link was kept"


def test_expired_links_ask_for_a_full_sync(site, caplog):
    _events, source = run(site, polls=1)
    site.invalidate_delta_tokens()
    with caplog.at_level(logging.WARNING):
        events, _source = run(site, polls=1, source=source)
    assert [(e["kind"], e["full_sync"]) for e in events] == [("resync", True)]
    assert "410" in caplog.text
    site.patch_entra({"users": {"update": [{"id": users(site)[0]["id"], "surname": "After"}]}})
    events, _source = run(site, polls=1, source=source)
    assert [(e["kind"], e["counts"]["attribute"]) for e in events] == [("change", 1)], "the new links do not track changes"


def test_graph_errors_back_off_and_the_source_keeps_polling(site, caplog):
    _events, source = run(site, polls=1)
    source.client.graph.max_attempts = 2  # fail fast past the client's own retries
    site.faults([{"service": "graph", "method": "GET", "path": "delta", "status": 503, "times": 4},
                 {"service": "graph", "method": "GET", "path": "delta", "status": 429, "headers": {"Retry-After": "0.2"}, "times": 2}])
    site.patch_entra({"users": {"update": [{"id": users(site)[0]["id"], "surname": "Later"}]}})
    with caplog.at_level(logging.WARNING):
        events, _source = run(site, polls=5, source=source)
    assert "trying again" in caplog.text and "503" in caplog.text
    assert [(e["kind"], e["users"]) for e in events] == [("change", [users(site)[0]["id"]])], "the change was lost or doubled"


def test_a_token_that_expires_is_renewed_between_polls(site):
    site.patch_entra({"token_lifetime_seconds": 1})
    _events, source = run(site, polls=1)
    site.patch_entra({"users": {"update": [{"id": users(site)[1]["id"], "surname": "Fresh"}]}})
    asyncio.run(asyncio.sleep(1.5))
    events, _source = run(site, polls=1, source=source)
    assert [e["kind"] for e in events] == ["change"]
    assert len([r for r in site.requests("login") if r["method"] == "POST"]) >= 2


def test_missing_state_is_named_before_anything_is_read(site):
    site.clear_requests()
    args = dict(site.args)
    args.pop("state")
    with pytest.raises(SOURCE["CoconutEntraError"], match="needs state"):
        SOURCE["EntraChanges"](args)
    assert site.requests() == []


@pytest.mark.parametrize("how", ["linked checkout", "ANSIBLE_COLLECTIONS_PATH"])
def test_it_imports_the_collection_code_as_ansible_rulebook_loads_it(tmp_path, how):
    """ansible-rulebook runs the file with runpy: no Ansible loader, no conftest putting .collections on sys.path."""
    if how == "linked checkout":
        path, env = LINKED / "entra_changes.py", {}
    else:
        path, env = ROOT / "extensions" / "eda" / "plugins" / "event_source" / "entra_changes.py", {
            "ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".collections")}
    code = ("import runpy, sys; m = runpy.run_path(sys.argv[1]); "
            "print(m['EntraChanges'].__module__, m['delta'].__name__)")
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_COLLECTIONS_PATHS")}
    proc = subprocess.run([sys.executable, "-c", code, str(path)], cwd=tmp_path, env={**clean, **env},
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "ansible_collections.coconut.entra.plugins.module_utils.delta" in proc.stdout
