"""examples/inventory, unchanged but for the sandbox endpoints: two sites synced in parallel, in four steps."""

from __future__ import annotations

import pytest

from . import example_sites
from .example_sites import EXAMPLE_VAULT_PASSWORD_FILE, SITES, copy_examples, point_at_sandboxes, start_sites
from .playbook import run_playbook

pytestmark = pytest.mark.integration


def sync(inventory, tmp_path, check):
    return run_playbook("sync.yml", tmp_path, inventory=inventory, check=check, diff=check,
                        args=["--vault-password-file", str(EXAMPLE_VAULT_PASSWORD_FILE), "--forks", "2"])


def writes(sites):
    return [r for s in (sites.main, sites.online) for r in s.requests() if r["method"] != "GET" and r["service"] != "login"]


def per_site(run):
    return {host: run.task("Reconcile staff", host=host) for host in SITES}


def test_example_inventory_syncs_two_sites_in_four_steps(start_sandbox, tmp_path):
    sites = start_sites(start_sandbox, tmp_path)
    inventory = copy_examples(tmp_path / "repo") / "inventory"
    point_at_sandboxes(inventory, sites)

    check = sync(inventory, tmp_path, check=True)
    assert check.rc == 0, check.output
    predicted = per_site(check)
    assert {h: r["changed"] for h, r in predicted.items()} == {"mapleridge_main": True, "mapleridge_online": True}
    assert {h: (r["counts"]["create"], r["counts"]["adopt"]) for h, r in predicted.items()} == \
        {"mapleridge_main": (3, 1), "mapleridge_online": (2, 0)}
    assert writes(sites) == [], "check mode wrote"

    apply = sync(inventory, tmp_path, check=False)
    assert apply.rc == 0, apply.output
    applied = per_site(apply)
    assert {h: r["changes"] for h, r in applied.items()} == {h: r["changes"] for h, r in predicted.items()}

    main = example_sites.staff_by_name(sites.main)
    assert set(main) == {"Ada Lovelace", "Alan Turing", "Katherine Johnson", "Grace Hopper", "Front Desk"}
    assert main["Alan Turing"]["id"] == 101 and main["Alan Turing"]["external_id"] == "E0002", "adopted, mapped"
    assert main["Katherine Johnson"]["role"] == 13 and sorted(main["Katherine Johnson"]["locations"]) == ["MAIN", "MALL"]
    assert main["Front Desk"]["integration"] is None and main["Front Desk"]["job_title"] == "Reception"
    online = example_sites.staff_by_name(sites.online)
    assert set(online) == {"Hedy Lamarr", "Joan Clarke", "Radia Perlman"}, "each site gets only its own groups"
    assert {s["role"] for s in online.values()} == {5, 13} and all(s["locations"] == ["ONLINE"] for s in online.values())
    assert {g["name"] for g in sites.online.state()["coconut"]["user_groups"]} == {"Contact Centre", "Video Advisors"}

    for site in (sites.main, sites.online):
        site.clear_requests()
    again = sync(inventory, tmp_path, check=True)
    assert again.rc == 0, again.output
    assert {h: r["changed"] for h, r in per_site(again).items()} == {"mapleridge_main": False, "mapleridge_online": False}

    final = sync(inventory, tmp_path, check=False)
    assert final.rc == 0, final.output
    assert {h: r["changed"] for h, r in per_site(final).items()} == {"mapleridge_main": False, "mapleridge_online": False}
    assert writes(sites) == [], "a second run wrote"
