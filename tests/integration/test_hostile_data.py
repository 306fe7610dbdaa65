"""Hostile data kept or shown by the sync (issue 18): a delta state edited by someone else is never trusted
(finding 1), Entra names with control characters reach no warning raw (finding 5), and a credentials file of
inline !vault values gets no value in clear (finding 7)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import yaml

from . import branch, team
from .direct import run_sync
from .playbook import ROOT, VENV_BIN

pytestmark = pytest.mark.integration

OUTSIDER = {"id": branch.oid("outsider"), "displayName": "Mallory Outsider", "givenName": "Mallory", "surname": "Outsider",
            "mail": "mallory@evil.example", "userPrincipalName": "mallory@evil.example", "accountEnabled": True,
            "jobTitle": "Intruder"}


def scenario():
    scene = team.scenario(members=6, synced=6, leavers=0)
    scene["entra"]["users"].append(dict(OUTSIDER))  # in the tenant, in no selected group
    scene["coconut"]["integration"] = {"status": "connected", "tenant_id": scene["entra"]["tenant_id"], "groups": [team.GROUP]}
    return scene


@pytest.fixture
def site(module_sandbox):
    module_sandbox.reset(scenario())
    return module_sandbox


def outsider_staff(site):
    return [s for s in site.state()["coconut"]["users"] if (s.get("integration") or {}).get("object_id") == OUTSIDER["id"]]


def tamper(state, site):
    """What a holder of any Coconut API token can do to a stored state: add a user to the members, and point the
    users link at a Graph query that returns that user."""
    state = dict(state)
    state["members"] = {gid: sorted(ids + [OUTSIDER["id"]]) for gid, ids in state["members"].items()}
    state["users_link"] = "{}/v1.0/users?$filter=id eq '{}'&$select=id,displayName,givenName,surname,mail,userPrincipalName," \
                          "accountEnabled,jobTitle".format(site.vars["entra_graph_url"], OUTSIDER["id"])
    return state


def test_a_delta_state_edited_in_the_coconut_record_is_not_trusted(site):
    first = run_sync(site, delta_state="coconut")
    assert first.ok, first.msg
    record = site.state()["coconut"]["integration"]

    site.patch_coconut({"integration": dict(record, delta_state=tamper(record["delta_state"], site))})
    run = run_sync(site, delta_state="coconut")
    assert run.ok, run.msg
    assert run.result["delta"]["mode"] == "full"
    assert any("not trusted" in w for w in run.warnings), run.warnings
    assert outsider_staff(site) == [], "the edited state made the sync create a user of no selected group"
    saved = site.state()["coconut"]["integration"]["delta_state"]
    assert OUTSIDER["id"] not in json.dumps(saved) and "/users?" not in saved["users_link"], "the edit persisted"
    assert saved["mac"], "the state was saved without a signature"

    again = run_sync(site, delta_state="coconut")
    assert (again.result["delta"]["mode"], again.warnings) == ("delta", []), "the state the sync wrote itself is trusted"


def test_a_delta_state_file_edited_on_disk_is_not_trusted(site, tmp_path):
    path = tmp_path / "state.json"
    assert run_sync(site, delta_state=str(path)).ok
    path.write_text(json.dumps(tamper(json.loads(path.read_text()), site)))
    run = run_sync(site, delta_state=str(path))
    assert run.ok, run.msg
    assert run.result["delta"]["mode"] == "full" and any("not trusted" in w for w in run.warnings), run.warnings
    assert outsider_staff(site) == []


def test_control_characters_in_entra_names_reach_no_warning_raw(site):
    hostile = "Eve\nok: [localhost]\x1b[32m PLAY RECAP \x1b[8m"
    site.patch_entra({"users": {"update": [{"id": team.person(0)["id"], "displayName": hostile, "givenName": None}]}})
    run = run_sync(site, invalid_users="skip")
    assert run.ok, run.msg
    shown = [w for w in run.warnings if "skipped Entra user" in w]
    assert shown and "\\nok: [localhost]\\x1b[32m" in shown[0], run.warnings
    assert not any(c in w for w in run.warnings for c in "\n\r\x1b"), run.warnings


# ---- finding 7: a new key in a file of inline !vault values is vaulted too --------------------------

def test_credentials_file_vaults_a_new_key_like_the_inline_vaulted_ones(tmp_path):
    from ansible.parsing.vault import VaultLib, VaultSecret

    password = tmp_path / "vault-pass"
    password.write_text("inline-vault-password\n")
    encrypted = subprocess.run([str(VENV_BIN / "ansible-vault"), "encrypt_string",
                                "--vault-id", "prod@" + str(password), "old-secret-value", "--name", "entra_client_secret"],
                               cwd=ROOT, capture_output=True, text=True, check=True).stdout
    path = tmp_path / "credentials.yml"
    path.write_text("# credentials\n" + encrypted)
    playbook = tmp_path / "write.yml"
    playbook.write_text(yaml.safe_dump([{
        "hosts": "localhost", "gather_facts": False, "connection": "local",
        "tasks": [{"name": "Write", "no_log": True, "coconut.entra.credentials_file": {
            "path": str(path), "values": {"entra_client_secret": "new-secret-value", "coconut_api_token": "new-token-value"}}}],
    }]))
    proc = subprocess.run([str(VENV_BIN / "ansible-playbook"), str(playbook), "--vault-id", "prod@" + str(password)], cwd=ROOT,
                          capture_output=True, text=True, env=dict(os.environ, ANSIBLE_NOCOLOR="1"), check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = path.read_text()
    assert "new-token-value" not in text and "new-secret-value" not in text, "a new value was written in clear"
    assert "coconut_api_token: !vault |" in text
    vault = VaultLib([("prod", VaultSecret(b"inline-vault-password"))])
    loaded = yaml.load(text, Loader=_VaultLoader)  # noqa: S506 - SafeLoader plus the !vault tag
    assert {key: vault.decrypt(value).decode() for key, value in loaded.items()} == {
        "entra_client_secret": "new-secret-value", "coconut_api_token": "new-token-value"}
    assert "$ANSIBLE_VAULT;1.2;AES256;prod" in text.split("coconut_api_token:")[1], "the same vault id as the other values"


class _VaultLoader(yaml.SafeLoader):
    pass


_VaultLoader.add_constructor("!vault", lambda loader, node: loader.construct_scalar(node).encode())
