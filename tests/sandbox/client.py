"""Driving the sandbox from tests: start it, talk to its control endpoints, build scenarios.

    sandbox = start(make_scenario(users=3), workdir)      # or the `sandbox` / `start_sandbox` fixtures
    sandbox.vars["coconut_url"], sandbox.state(), sandbox.faults([...]), sandbox.stop()
"""

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests
import yaml

HERE = Path(__file__).resolve().parent
SERVE = HERE / "serve.py"
DEMO_SCENARIO = HERE / "scenarios" / "demo.yml"
SYNC_ROLES = ["GroupMember.Read.All", "User.Read.All", "Application.ReadWrite.OwnedBy"]


class SandboxError(RuntimeError):
    """The sandbox did not start, or a control request failed."""


class Sandbox:
    """A running sandbox: its vars, and its control endpoints as methods."""

    def __init__(self, process, vars_file, stderr_path):
        self.process = process
        self.vars_file = Path(vars_file)
        self.stderr_path = Path(stderr_path)
        self.vars = yaml.safe_load(self.vars_file.read_text())
        self.ca_path = self.vars["ca_path"]
        self.url = self.vars["sandbox_url"]
        self.session = requests.Session()
        self.session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify (psf/requests#3829)

    # -- control endpoints -----------------------------------------------------------------

    def control(self, method, path, body=None):
        data = None if body is None else json.dumps(body)
        response = self.session.request(method, self.url + path, data=data, verify=self.ca_path, timeout=60,
                                        headers={"Content-Type": "application/json"})
        if response.status_code >= 400:
            raise SandboxError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response.json() if response.content else None

    def state(self):
        return self.control("GET", "/state")

    def put_state(self, scenario):
        self.control("PUT", "/state", scenario)

    def reset(self, scenario):
        """A fresh start for the next test on a shared sandbox: the scenario, an empty request log, no faults."""
        self.put_state(scenario)
        self.clear_requests()
        self.faults([])

    def requests(self, service=None, method=None):
        return [r for r in self.control("GET", "/requests")
                if (service is None or r["service"] == service) and (method is None or r["method"] == method.upper())]

    def clear_requests(self):
        self.control("DELETE", "/requests")

    def faults(self, faults):
        self.control("PUT", "/faults", list(faults))

    def patch_entra(self, changes):
        self.control("PATCH", "/entra", changes)

    def patch_coconut(self, changes):
        self.control("PATCH", "/coconut", changes)

    def invalidate_delta_tokens(self):
        self.control("POST", "/delta/invalidate")

    def coconut_users(self):
        """Coconut staff from the state, by id (int)."""
        return {int(u["id"]): u for u in self.state()["coconut"]["users"]}

    def writes(self, service=None):
        """Requests that changed something: every non-GET one, except getting a token (not a write)."""
        return [r for r in self.requests(service) if r["method"] not in ("GET", "HEAD") and r["service"] != "login"]

    def write_count(self, service="coconut"):
        """How many non-GET requests `service` has served (faulted ones included)."""
        return sum(1 for r in self.requests(service) if r["method"] != "GET")

    # -- lifecycle -------------------------------------------------------------------------

    def stderr(self):
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    def stop(self):
        self.session.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return self.process.returncode


def start(scenario, workdir, latency_ms=0, port_base=None, timeout=20):
    """Start serve.py with `scenario` (a dict, or a path to a YAML/JSON file) in `workdir`."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if isinstance(scenario, str | os.PathLike):
        scenario_path = Path(scenario)
    else:
        scenario_path = workdir / "scenario.json"
        scenario_path.write_text(json.dumps(scenario))
    vars_file = workdir / "sandbox-vars.yml"
    stderr_path = workdir / "sandbox.stderr"
    command = [sys.executable, str(SERVE), "--scenario", str(scenario_path), "--vars-out", str(vars_file)]
    if latency_ms:
        command += ["--latency-ms", str(latency_ms)]
    if port_base:
        command += ["--port-base", str(port_base)]
    with open(stderr_path, "wb") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
    deadline = time.monotonic() + timeout
    while not vars_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            if process.poll() is None:
                process.kill()
                process.wait()
            raise SandboxError(f"the sandbox did not start (exit {process.returncode}):\n{stderr_path.read_text(errors='replace')}")
        time.sleep(0.05)
    return Sandbox(process, vars_file, stderr_path)


def load_demo_scenario():
    return yaml.load(DEMO_SCENARIO.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - a safe loader


# ----------------------------------------------------------------------------------------------
# Scenario building

FIRST_NAMES = ["Ada", "Grace", "Alan", "Katherine", "Edsger", "Barbara", "Donald", "Frances", "John", "Margaret",
               "Dennis", "Radia", "Ken", "Shafi", "Tim", "Hedy", "Linus", "Anita", "Guido", "Sophie"]
LAST_NAMES = ["Lovelace", "Hopper", "Turing", "Johnson", "Dijkstra", "Liskov", "Knuth", "Allen", "Backus", "Hamilton",
              "Ritchie", "Perlman", "Thompson", "Goldwasser", "Berners-Lee", "Lamarr", "Torvalds", "Borg", "van Rossum", "Wilson"]


class Ids:
    """Deterministic GUIDs, so a failing test shows the same ids on every run."""

    def __init__(self, seed=0):
        self.rng = random.Random(seed)

    def __call__(self):
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))


def make_user(ids, given, surname, domain="contoso.example", **fields):
    """An Entra user in Graph spelling, with every field the sync reads."""
    login = f"{given}.{surname}".lower().replace(" ", "").replace("'", "")
    return {"id": ids(), "displayName": f"{given} {surname}", "givenName": given, "surname": surname,
            "mail": f"{login}@{domain}", "userPrincipalName": f"{login}@{domain}", "accountEnabled": True,
            "jobTitle": "Teller", "department": "Retail", "officeLocation": "Main St", "employeeId": None, **fields}


def synced(user):
    """The `integration` value of a Coconut staff member synced from this Entra user."""
    return {"source": "entra_id", "object_id": user["id"]}


def staff_from(user, **fields):
    """A Coconut staff member equal to an Entra user (unsynced unless `integration` is given)."""
    return {"first_name": user["givenName"], "last_name": user["surname"], "email": user["mail"],
            "job_title": user.get("jobTitle"), **fields}


def make_scenario(users=3, groups=None, staff=(), roles=None, seed=0, locations=(), user_groups=(), integration=None,
                  secret_end="2027-05-01T00:00:00Z", certificates=(), entra=None, coconut=None):
    """A complete scenario dict.

    users: a number (generated people) or a list of user dicts (missing fields filled in).
    groups: None (one group "Coconut Staff" holding every user) or a list of dicts
        {displayName, members: [user dicts or ids], id?}.
    staff: Coconut users (dicts; ids are given by the sandbox from 101 when left out).
    entra / coconut: extra keys merged into that part (e.g. {"token_lifetime_seconds": 5}).
    """
    ids = Ids(seed)
    if isinstance(users, int):
        count = users
        users = [make_user(ids, FIRST_NAMES[n % len(FIRST_NAMES)], LAST_NAMES[(n // len(FIRST_NAMES) + n) % len(LAST_NAMES)]
                           + ("" if n < len(FIRST_NAMES) else str(n)), employeeId=f"E{1000 + n}") for n in range(count)]
    else:
        users = [u if "id" in u and "displayName" in u
                 else make_user(ids, u.get("givenName", "Test"), u.get("surname", f"User{n}"), **u) for n, u in enumerate(users)]
    if groups is None:
        groups = [{"displayName": "Coconut Staff", "members": users}]
    built_groups = []
    for group in groups:
        members = [m["id"] if isinstance(m, dict) else m for m in group.get("members", [])]
        built_groups.append({**group, "id": group.get("id") or ids(), "members": members})
    scenario = {
        "entra": {
            "tenant_id": ids(),
            "applications": [{"app_id": ids(), "id": ids(), "display_name": "Coconut staff sync",
                              "roles": list(SYNC_ROLES if roles is None else roles),
                              "secrets": [{"key_id": ids(), "text": f"sbx~{ids().replace('-', '')[:30]}", "end": secret_end}],
                              "certificates": list(certificates)}],
            "users": users,
            "groups": built_groups,
            **(entra or {}),
        },
        "coconut": {
            "site": "demo",
            "api_tokens": [{"id": "t1", "name": "sandbox", "value": f"cct_{ids().replace('-', '')}"}],
            "locations": list(locations),
            "user_groups": list(user_groups),
            "users": list(staff),
            "integration": integration,
            **(coconut or {}),
        },
    }
    return scenario
