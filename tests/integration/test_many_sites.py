"""Many sites in one inventory (issue 12): job slicing can split it anywhere, and an Entra app shared by several sites
has its secret rotated once.

Three sandboxes make two apps and three Coconut sites: site_a1 and site_a2 share app A (sandbox A's Entra) and sync
into the Coconut of sandbox A and of sandbox B; site_c uses app C and Coconut C on its own. One CA bundle trusts all
three sandboxes."""

from __future__ import annotations

import concurrent.futures

import pytest
import yaml

from sandbox.client import make_scenario, start

from .playbook import run_playbook

pytestmark = pytest.mark.integration

SITES = ("site_a1", "site_a2", "site_c")


class Sites:
    def __init__(self, workdir):
        self.workdir = workdir
        self.sandboxes = {}
        self.scenarios = {}
        for seed, name in enumerate("abc"):
            scenario = make_scenario(users=6, seed=100 + seed, integration={"status": "connected", "groups": []},
                                     entra={"secret_propagation_seconds": 0})
            self.scenarios[name] = scenario
            self.sandboxes[name] = start(scenario, workdir / f"sandbox-{name}")
        self.ca = workdir / "ca-bundle.pem"
        self.ca.write_text("".join(open(s.ca_path).read() for s in self.sandboxes.values()))
        # Which sandbox gives each site its Entra app, and its Coconut site.
        self.layout = {"site_a1": ("a", "a"), "site_a2": ("a", "b"), "site_c": ("c", "c")}

    def reset(self):
        for name, sandbox in self.sandboxes.items():
            sandbox.reset(self.scenarios[name])

    def host_vars(self, site):
        entra, coconut = (self.sandboxes[key].vars for key in self.layout[site])
        group = self.scenarios[self.layout[site][0]]["entra"]["groups"][0]["id"]
        host = {key: entra[key] for key in ("entra_tenant_id", "entra_client_id", "entra_authority_host", "entra_graph_url",
                                            "entra_app_object_id")}
        host.update(coconut_url=coconut["coconut_url"], ca_path=str(self.ca), entra_groups=[group])
        return host

    def inventory(self, credentials=None, secrets=None):
        """Credentials inline (the sandboxes' own, or `secrets` per site), or only a `credentials_file` per site."""
        hosts = {}
        for site in SITES:
            host = self.host_vars(site)
            if credentials:
                host["credentials_file"] = str(credentials[site])
            elif secrets:
                host.update(secrets[site])
            else:
                entra, coconut = (self.sandboxes[key].vars for key in self.layout[site])
                host.update(entra_client_secret=entra["entra_client_secret"], coconut_api_token=coconut["coconut_api_token"])
            hosts[site] = host
        path = self.workdir / ("inventory-%d.yml" % len(list(self.workdir.glob("inventory-*.yml"))))
        path.write_text(yaml.safe_dump({"all": {"children": {"coconut_sites": {"hosts": hosts}}}}))
        return path

    def staff(self):
        """Each Coconut site's staff, as comparable data (ids are the sandbox's, so they are left out)."""
        return {key: sorted((u["email"], u["first_name"], u["last_name"], u["status"], (u.get("integration") or {}).get("object_id"))
                            for u in sandbox.state()["coconut"]["users"])
                for key, sandbox in self.sandboxes.items()}

    def stop(self):
        for sandbox in self.sandboxes.values():
            sandbox.stop()


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    sites = Sites(tmp_path_factory.mktemp("sites"))
    yield sites
    sites.stop()


def test_job_slices_give_the_same_sites_as_one_job(sites, tmp_path):
    sites.reset()
    inventory = sites.inventory()
    whole = run_playbook("sync.yml", tmp_path, inventory=inventory, args=["--forks", "3"])
    assert whole.rc == 0, whole.output
    one_job = sites.staff()
    assert all(len([u for u in staff if u[4]]) == 6 for staff in one_job.values()), one_job

    sites.reset()
    before = sites.staff()
    # AWX job slicing: slice i of N runs hosts[i::N], each slice a job of its own, at the same time.
    slices = [",".join(SITES[i::2]) for i in range(2)]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda hosts: run_playbook("sync.yml", tmp_path, inventory=inventory, args=["--limit", hosts]), slices))
    assert [run.rc for run in runs] == [0, 0], [run.output for run in runs]
    assert sites.staff() == one_job != before


def test_an_app_shared_by_two_sites_is_rotated_once_and_both_get_the_new_secret(sites, tmp_path):
    sites.reset()
    credentials = {}
    for site in SITES:
        entra, coconut = (sites.sandboxes[key].vars for key in sites.layout[site])
        credentials[site] = tmp_path / f"{site}-credentials.yml"
        credentials[site].write_text(yaml.safe_dump({"entra_client_secret": entra["entra_client_secret"],
                                                     "coconut_api_token": coconut["coconut_api_token"]}))
    inventory = sites.inventory(credentials)
    for sandbox in sites.sandboxes.values():
        sandbox.clear_requests()
    run = run_playbook("rotate_token.yml", tmp_path, inventory=inventory)
    assert run.rc == 0, run.output

    def add_password_calls(key):
        return [r for r in sites.sandboxes[key].requests("graph", "POST") if r["path"].endswith("/addPassword")]

    # One new secret per app registration: app A once for its two sites, app C once.
    assert len(add_password_calls("a")) == 1 and len(add_password_calls("c")) == 1 and add_password_calls("b") == []
    files = {site: yaml.safe_load(credentials[site].read_text()) for site in SITES}
    secrets_a = [s["text"] for s in sites.sandboxes["a"].state()["entra"]["applications"][0]["secrets"]]
    secrets_c = [s["text"] for s in sites.sandboxes["c"].state()["entra"]["applications"][0]["secrets"]]
    assert secrets_a == [files["site_a1"]["entra_client_secret"]] == [files["site_a2"]["entra_client_secret"]]
    assert secrets_c == [files["site_c"]["entra_client_secret"]]
    assert secrets_a[0] != sites.sandboxes["a"].vars["entra_client_secret"], "app A's secret was not rotated"
    # Each site's Coconut token is its own, rotated on its own.
    for site in SITES:
        coconut = sites.sandboxes[sites.layout[site][1]]
        live = [t["value"] for t in coconut.state()["coconut"]["api_tokens"] if not t.get("revoked")]
        assert live == [files[site]["coconut_api_token"]] and live[0] != coconut.vars["coconut_api_token"]
    # And every site syncs with what its file now holds (the second site of app A too).
    check = run_playbook("sync.yml", tmp_path, inventory=sites.inventory(secrets=files), check=True)
    assert check.rc == 0, check.output
