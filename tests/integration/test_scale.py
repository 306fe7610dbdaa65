"""sync.yml at 5,000 members (make bench runs 100,000): requests exactly at the floor and at the reference client's, and a small result."""

from __future__ import annotations

import json
import math

import pytest
import yaml

from bench.reference import read as reference_read
from bench.run import scenario

from ansible_collections.coconut.entra.plugins.module_utils.lease import SETTLE_SECONDS

from .playbook import run_playbook

pytestmark = pytest.mark.integration

SIZE = 5000
# Every real run notes the lease before it reads (one read of the integration record). A run that writes also takes
# the lease (read, write, read it back) and releases it (read, write); a run with nothing to write takes none.
OBSERVE = {("lease", "read"): 1}
LEASE = {("lease", "read"): 4, ("lease", "write"): 2}
# What the sync reads beyond the reference client (tests/bench/reference.py, plain requests + json): msal's OpenID
# configuration, the group itself (that it exists, its name), and the lease's note before reading.
BEYOND_REFERENCE = {("login", "read"): 1, ("graph", "read"): 1, ("lease", "read"): 1}


def make_site(start_sandbox, tmp_path, scene):
    site = start_sandbox(scene)
    site.vars_file = tmp_path / "sandbox-vars.yml"
    site.vars_file.write_text(yaml.safe_dump(site.vars))
    site.group_id = scene["entra"]["groups"][0]["id"]
    return site


def sync(site, tmp_path, env=None, **extra):
    return run_playbook("sync.yml", tmp_path, vars_files=[site.vars_file], extra={"entra_groups": [site.group_id], **extra}, env=env)


def per_service(site):
    counts = {}
    for request in site.requests():
        # The site lease (an applying run's bookkeeping in the integration record) is counted on its own.
        service = "lease" if request["path"].startswith("/api/v2/integrations") else request["service"]
        key = (service, "read" if request["method"] in ("GET", "HEAD") else "write")
        counts[key] = counts.get(key, 0) + 1
    return counts


def test_a_no_op_reads_each_page_once_and_writes_nothing(start_sandbox, tmp_path):
    site = make_site(start_sandbox, tmp_path, scenario(SIZE, synced=True))
    run = sync(site, tmp_path)
    assert run.rc == 0, run.output
    assert run.sync["changed"] is False
    assert run.sync["counts"]["unchanged"] == SIZE
    # msal: OpenID configuration + token; Graph: the group, then ceil(5000/999) member pages; Coconut: ceil(5000/500) pages.
    assert per_service(site) == {("login", "read"): 1, ("login", "write"): 1,
                                 ("graph", "read"): 1 + math.ceil(SIZE / 999),
                                 ("coconut", "read"): math.ceil(SIZE / 500), **OBSERVE}

    # The reference client's same reads: a token, the member pages, the staff pages; the sync makes no more requests
    # than it on any service, but for the three it names.
    sync_counts = per_service(site)
    site.clear_requests()
    assert reference_read(site.vars_file, site.group_id) == {"equal": True, "members": SIZE, "staff": SIZE}
    reference = per_service(site)
    assert reference == {("login", "write"): 1, ("graph", "read"): math.ceil(SIZE / 999), ("coconut", "read"): math.ceil(SIZE / 500)}
    over = {key: n - reference.get(key, 0) for key, n in sync_counts.items() if n > reference.get(key, 0)}
    assert over == BEYOND_REFERENCE


def test_an_initial_sync_writes_in_bulk_and_keeps_the_result_small(start_sandbox, tmp_path):
    site = make_site(start_sandbox, tmp_path, scenario(SIZE, synced=False))
    run = sync(site, tmp_path, env={"COCONUT_ENTRA_BENCH": str(tmp_path / "bench.json")})
    assert run.rc == 0, run.output
    assert run.sync["counts"]["create"] == SIZE
    # make bench's figures (tests/bench/run.py): the module's own peak RSS and CPU, and its phases; the lease's phase
    # holds its fixed cost, the settle wait included.
    bench = run.sync["bench"]
    assert bench["peak_rss_mb"] > 0 and 0 < bench["cpu_s"]
    assert set(bench["phases"]) >= {"validate", "read", "plan", "apply", "lease"}
    assert bench["phases"]["lease"] >= SETTLE_SECONDS
    # Seconds since the module process started: when the sync began (imports done), and when its result was ready.
    assert 0 < bench["started_s"] < bench["finished_s"]
    assert bench["finished_s"] - bench["started_s"] >= sum(bench["phases"].values()) - 0.05
    # ... also written to the file COCONUT_ENTRA_BENCH names, which the bench reads instead of a recording callback.
    assert json.loads((tmp_path / "bench.json").read_text()) == {"changed": True, "counts": run.sync["counts"], "bench": bench}
    assert per_service(site) == {("login", "read"): 1, ("login", "write"): 1,
                                 ("graph", "read"): 1 + math.ceil(SIZE / 999),
                                 ("coconut", "read"): 1, ("coconut", "write"): SIZE // 100, **LEASE}
    assert all(r["method"] == "POST" and r["path"] == "/api/v2/users" for r in site.requests("coconut", "POST"))
    # The result lists the first 1,000 changes and says how many more there are; the plan stays out of it.
    assert len(run.sync["changes"]) == 1000
    assert run.sync["truncated"] == {"changes": SIZE - 1000, "applied.created": SIZE - 1000}
    assert "plan" not in run.sync
    assert len(site.state()["coconut"]["users"]) == SIZE

    site.clear_requests()
    again = sync(site, tmp_path)
    assert again.rc == 0, again.output
    assert again.sync["changed"] is False
    assert ("coconut", "write") not in per_service(site) and ("lease", "write") not in per_service(site)
