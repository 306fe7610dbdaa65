"""The two Coconut sites of `examples/inventory`, played by two sandboxes, and the overlay that points the inventory at them.

One Entra tenant serves both sites, as at a real bank: both hosts sign in to the first sandbox's Entra and Graph; each
host's Coconut is its own sandbox. The scenarios use the example's tenant id, client id and (unless told otherwise)
the example's vaulted secrets, so the committed inventory runs unchanged. The only additions are the endpoints a real
tenant never sets (`entra_authority_host`, `entra_graph_url`, `ca_path`) and each host's `coconut_url`, written to
`zz_sandbox.yml` files that Ansible reads after `main.yml` and `vault.yml` in the same directory:

    inventory/group_vars/all/zz_sandbox.yml         entra_authority_host, entra_graph_url, ca_path (both sandboxes' CAs)
    inventory/host_vars/<site>/zz_sandbox.yml       coconut_url
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from .playbook import ROOT

EXAMPLES = ROOT / "examples"
EXAMPLE_VAULT_PASSWORD_FILE = EXAMPLES / "vault-password-EXAMPLE-ONLY.txt"
SITES = ("mapleridge_main", "mapleridge_online")

_GROUP_VARS = yaml.safe_load((EXAMPLES / "inventory" / "group_vars" / "all" / "main.yml").read_text())
TENANT = _GROUP_VARS["entra_tenant_id"]
CLIENT = _GROUP_VARS["entra_client_id"]
APP_OBJECT = "7a1f0c2e-5b1d-4c8e-9a3f-2d6b8e4c1a03"
# The values inside the example's vault files (examples/vault-password-EXAMPLE-ONLY.txt opens them).
EXAMPLE_SECRET = "example-only~entra-client-secret-NOT-REAL"
EXAMPLE_TOKENS = {"mapleridge_main": "example-only-coconut-token-mapleridge-main",
                  "mapleridge_online": "example-only-coconut-token-mapleridge-online"}


def _user(n, given, surname, title):
    email = "%s.%s@mapleridge.example" % (given.lower(), surname.lower())
    return {"id": "7a1f0c2e-0000-4000-8000-%012d" % n, "displayName": "%s %s" % (given, surname), "givenName": given,
            "surname": surname, "mail": email, "userPrincipalName": email, "accountEnabled": True, "jobTitle": title,
            "employeeId": "E%04d" % n}


USERS = {
    "Coconut - Tellers": [_user(1, "Ada", "Lovelace", "Teller"), _user(2, "Alan", "Turing", "Senior Teller")],
    "Coconut - Advisors": [_user(3, "Katherine", "Johnson", "Advisor"), _user(4, "Grace", "Hopper", "Advisor")],
    "Coconut - Contact Centre": [_user(5, "Hedy", "Lamarr", "Contact Centre Agent"),
                                 _user(6, "Joan", "Clarke", "Contact Centre Lead")],
    "Coconut - Video Advisors": [_user(7, "Radia", "Perlman", "Video Advisor")],
}


def _staff(sid, user, synced=False):
    return {"id": sid, "first_name": user["givenName"], "last_name": user["surname"], "email": user["mail"],
            "username": None, "external_id": None, "job_title": "Old title", "language": "en", "role": 10,
            "status": "active", "locations": [], "user_group_id": None,
            "integration": {"source": "entra_id", "object_id": user["id"]} if synced else None}


def scenarios(secret=EXAMPLE_SECRET, tokens=None):
    """(main, online): the tenant and the branches' Coconut, and the online site's Coconut."""
    tokens = dict(EXAMPLE_TOKENS, **(tokens or {}))
    entra = {
        "tenant_id": TENANT,
        "applications": [{"app_id": CLIENT, "id": APP_OBJECT, "display_name": "Coconut staff sync",
                          "roles": ["GroupMember.Read.All", "User.Read.All", "Application.ReadWrite.OwnedBy"],
                          "secrets": [{"key_id": "7a1f0c2e-0000-4000-8000-0000000000a1", "text": secret,
                                       "end": "2099-01-01T00:00:00Z"}],
                          "certificates": []}],
        "users": [u for members in USERS.values() for u in members],
        "groups": [{"id": "7a1f0c2e-0000-4000-9000-%012d" % i, "displayName": name, "members": [u["id"] for u in members]}
                   for i, (name, members) in enumerate(USERS.items(), 1)],
    }
    main = {"entra": entra, "coconut": {
        "site": "mapleridge",
        "api_tokens": [{"id": "t1", "value": tokens["mapleridge_main"]}],
        "locations": [{"id": 1, "external_id": "MAIN", "name": "Main Street"}, {"id": 2, "external_id": "MALL", "name": "Ridge Mall"}],
        "user_groups": [{"id": 1, "external_id": None, "name": "Tellers"}],
        # Alan is adopted (same name and email); the front desk account is not Entra's and is never touched.
        "users": [_staff(101, USERS["Coconut - Tellers"][1]),
                  {**_staff(102, {"givenName": "Front", "surname": "Desk", "mail": "frontdesk@mapleridge.example", "id": None}),
                   "job_title": "Reception"}],
    }}
    online = {"entra": {"tenant_id": TENANT}, "coconut": {
        "site": "mapleridge-online",
        "api_tokens": [{"id": "t1", "value": tokens["mapleridge_online"]}],
        "locations": [{"id": 1, "external_id": "ONLINE", "name": "Online and phone"}],
        "user_groups": [],
        "users": [_staff(201, USERS["Coconut - Contact Centre"][1], synced=True)],
    }}
    return main, online


@dataclass
class Sites:
    main: object     # the sandbox with the tenant and mapleridge_main's Coconut
    online: object   # the sandbox with mapleridge_online's Coconut
    ca_bundle: Path

    @property
    def coconut(self):
        return {"mapleridge_main": self.main, "mapleridge_online": self.online}


def start_sites(start_sandbox, tmp_path, secret=EXAMPLE_SECRET, tokens=None):
    main, online = scenarios(secret, tokens)
    sites = Sites(start_sandbox(main), start_sandbox(online), Path(tmp_path) / "sandbox-ca-bundle.pem")
    sites.ca_bundle.write_text(Path(sites.main.ca_path).read_text() + Path(sites.online.ca_path).read_text())
    return sites


def copy_examples(dest):
    """examples/ as a user's inventory repository would hold it; returns the copy's root."""
    dest = Path(dest)
    shutil.copytree(EXAMPLES, dest, dirs_exist_ok=True)
    return dest


def point_at_sandboxes(inventory, sites):
    """Write the zz_sandbox.yml overlay (see the module docstring) into an inventory laid out like examples/inventory."""
    inventory = Path(inventory)
    overlay = {"entra_authority_host": sites.main.vars["entra_authority_host"],
               "entra_graph_url": sites.main.vars["entra_graph_url"],
               "ca_path": str(sites.ca_bundle)}
    (inventory / "group_vars" / "all" / "zz_sandbox.yml").write_text(yaml.safe_dump(overlay))
    for host, sandbox in sites.coconut.items():
        (inventory / "host_vars" / host / "zz_sandbox.yml").write_text(yaml.safe_dump({"coconut_url": sandbox.vars["coconut_url"]}))


def staff_by_name(sandbox):
    return {"%s %s" % (s["first_name"], s["last_name"]): s for s in sandbox.state()["coconut"]["users"]}
