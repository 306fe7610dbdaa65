"""docs/getting-started.md, run: every command of its ```console blocks, in order, against two sandboxes.

The stand-ins for a real tenant are listed in the HTML comment at the top of the guide (and below): an empty working
directory and HOME; the collection tarball built from this tree for `ansible-galaxy collection install coconut.entra`;
an EDITOR for `ansible-vault create` that writes the sandbox's secret for that file; zz_sandbox.yml overlays with the
sandbox endpoints (example_sites.point_at_sandboxes) before the first ansible command; the crontab line's command run
with /srv/coconut-inventory replaced by the working directory. ```console az blocks (Azure CLI) are not run.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml

from .collection import build_tarball, user_env
from .example_sites import CLIENT, SITES, point_at_sandboxes, staff_by_name, start_sites
from .playbook import VENV_BIN

pytestmark = pytest.mark.integration

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "getting-started.md"
BLOCK = re.compile(r"^```([\w-]+)[ \t]*([\w-]*)[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
CRON_DIR = "/srv/coconut-inventory"
SECRET = "guide~entra-secret-of-your-own"
TOKENS = {"mapleridge_main": "guide-coconut-token-main", "mapleridge_online": "guide-coconut-token-online"}
SYNC_ROLES = ("GroupMember.Read.All", "User.Read.All")
ROTATION_ROLE = "Application.ReadWrite.OwnedBy"
ROTATION_ROLE_ID = "18a4783c-866b-4cc7-a460-3d5e5662c884"  # its app role id in Microsoft Graph


def commands(body):
    """`$ ` lines of a console block, with `\\` continuations joined; other lines are output."""
    found, current = [], None
    for line in body.splitlines():
        if current is not None:
            current += " " + line.strip()
        elif line.startswith("$ "):
            current = line[2:].strip()
        else:
            continue
        if current.endswith("\\"):
            current = current[:-1].rstrip()
        else:
            found.append(current)
            current = None
    return found


def guide_blocks():
    """[(kind, command)] in document order: kind is 'run', 'az' (not run) or 'cron'."""
    steps = []
    for lang, info, body in BLOCK.findall(GUIDE.read_text()):
        if lang == "console" and info == "az":
            steps += [("az", c) for c in commands(body)]
        elif lang == "console":
            assert info == "", "unknown console block kind %r" % info
            steps += [("run", c) for c in commands(body)]
        elif lang == "crontab":
            for line in body.splitlines():
                if line.strip() and not re.match(r"^\w+=", line):
                    steps.append(("cron", line.split(None, 5)[5]))
    return steps


def run(command, cwd, env, terminal=False):
    """sh -c, as a terminal would: `ansible-vault create` opens the editor only when stdout is a terminal."""
    if not terminal:
        return subprocess.run(["sh", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)
    controller, terminal_end = os.openpty()
    try:
        proc = subprocess.run(["sh", "-c", command], cwd=cwd, env=env, stdout=terminal_end, stderr=subprocess.PIPE, text=True,
                              timeout=300, check=False)
    finally:
        os.close(terminal_end)
        os.close(controller)
    proc.stdout = ""
    return proc


def test_guide_has_the_steps_a_user_needs():
    steps = guide_blocks()
    run = [c for kind, c in steps if kind == "run"]
    for needed in ("ansible-galaxy collection install coconut.entra", "ansible-vault create", "coconut.entra.connect",
                   "coconut.entra.sync -i inventory --vault-password-file ~/.coconut-vault-pass --check --diff",
                   "coconut.entra.rotate_token", "coconut_fail_on_drift=true"):
        assert any(needed in c for c in run), needed
    assert [" ".join(c.split()[1:4]) for kind, c in steps if kind == "az"] == [
        "ad app create", "ad sp create", "ad app permission", "ad app permission", "account show --query",
        "ad app credential", "ad app credential", "ad app permission", "ad app permission", "ad app owner"], \
        "the Azure-side steps (not run here)"
    # Rotation's permission (and self-ownership) is its own optional step, after everything a sync or a CI preview
    # needs: the first grant is GroupMember.Read.All and User.Read.All only.
    grants = [c for kind, c in steps if kind == "az" and "permission add" in c]
    assert ROTATION_ROLE_ID not in grants[0] and ROTATION_ROLE_ID in grants[1]
    order = [c for _kind, c in steps]
    rotation_grant = order.index(grants[1])
    assert all(order.index(c) < rotation_grant for c in order if "coconut.entra.connect" in c or "--check --diff" in c)
    assert rotation_grant < min(order.index(c) for c in order if "coconut.entra.rotate_token" in c)
    assert len([kind for kind, _c in steps if kind == "cron"]) == 1


def test_every_command_of_the_guide_runs_against_the_sandbox(start_sandbox, tmp_path):
    sites = start_sites(start_sandbox, tmp_path, secret=SECRET, tokens=TOKENS)
    tarball = build_tarball(tmp_path / "dist")
    work = tmp_path / "inventory-repo"
    work.mkdir()
    home = tmp_path / "home"
    env = user_env(home)
    vault_contents = {"inventory/group_vars/all/vault.yml": {"entra_client_secret": SECRET}}
    vault_contents.update({"inventory/host_vars/%s/vault.yml" % h: {"coconut_api_token": t} for h, t in TOKENS.items()})

    # The app starts with the sync's two permissions only: connect, previews and syncs must work with them; the
    # guide's optional rotation step (an az command, not run) grants the third, as Entra would.
    sites.main.patch_entra({"applications": {"update": [{"app_id": CLIENT, "roles": list(SYNC_ROLES)}]}})  # the tenant
    ran, skipped, overlaid = [], [], False
    for kind, command in guide_blocks():
        if kind == "az":
            skipped.append(command)
            if ROTATION_ROLE_ID in command:
                sites.main.patch_entra({"applications": {"update": [{"app_id": CLIENT, "roles": list(SYNC_ROLES) + [ROTATION_ROLE]}]}})
            continue
        step_env = dict(env)
        if command.startswith("ansible-galaxy collection install coconut.entra"):
            command = command.replace("install coconut.entra", "install " + shlex.quote(str(tarball)))
        if command.startswith("ansible-vault create"):
            target = shlex.split(command)[-1]
            content = tmp_path / ("editor-%d.yml" % len(ran))
            content.write_text(yaml.safe_dump(vault_contents[target]))
            step_env["EDITOR"] = "cp %s" % shlex.quote(str(content))
        if kind == "cron":
            command = command.replace(CRON_DIR, shlex.quote(str(work)))
        if not overlaid and command.split()[0] in ("ansible-playbook", "ansible-inventory"):
            point_at_sandboxes(work / "inventory", sites)
            overlaid = True
        proc = run(command, work, step_env, terminal=command.startswith("ansible-vault create"))
        ran.append(command)
        assert proc.returncode == 0, "%s\n%s%s" % (command, proc.stdout[-6000:], proc.stderr[-3000:])

    print("not run (Azure CLI, Microsoft's cloud):\n  " + "\n  ".join(skipped))
    assert len(ran) >= 15

    # Both sites were connected, synced, their credentials rotated, and finally disconnected.
    assert set(staff_by_name(sites.main)) >= {"Ada Lovelace", "Alan Turing", "Katherine Johnson", "Grace Hopper"}
    assert set(staff_by_name(sites.online)) == {"Hedy Lamarr", "Joan Clarke", "Radia Perlman"}
    assert (work / "reports" / "mapleridge_main.html").exists() and (work / "reports" / "mapleridge_online.md").exists()
    requests = sites.main.requests("coconut") + sites.online.requests("coconut")
    assert [r for r in requests if r["method"] == "PUT" and "integrations" in r["path"]], "connect recorded nothing"
    for site in (sites.main, sites.online):
        assert site.state()["coconut"].get("integration") is None, "disconnect left the record"
    secrets = [s["text"] for s in sites.main.state()["entra"]["applications"][0]["secrets"]]
    assert len(secrets) == 1 and secrets != [SECRET], "the Entra secret was rotated once, the old one removed"
    for host, site in sites.coconut.items():
        live = [t["value"] for t in site.state()["coconut"]["api_tokens"] if not t.get("revoked")]
        assert len(live) == 1 and live != [TOKENS[host]], host
    for vault in [work / "inventory/group_vars/all/vault.yml"] + [work / "inventory/host_vars" / h / "vault.yml" for h in SITES]:
        assert vault.read_text().startswith("$ANSIBLE_VAULT"), "%s is no longer encrypted" % vault
    log = (home / "coconut-sync.log").read_text()
    assert "PLAY RECAP" in log and "failed=0" in log and "failed=1" not in log

    # The AWX wrapper playbook imports the installed one.
    (wrapper,) = [textwrap.dedent(b) for b in re.findall(r"```yaml\n(.*?)^\s*```", GUIDE.read_text(), re.MULTILINE | re.DOTALL)
                  if "import_playbook" in b]
    (work / "sync.yml").write_text(wrapper)
    awx = run("ansible-playbook sync.yml -i inventory --vault-password-file ~/.coconut-vault-pass --check", work, env)
    assert awx.returncode == 0, awx.stdout + awx.stderr
    assert "Reconcile staff with the selected Entra groups" in awx.stdout

    # The certificate made by the guide's openssl command signs in once it is on the app (the `az ... --cert` step).
    certificate, key = (work / "coconut-sync.crt").read_text(), (work / "coconut-sync.key").read_text()
    sites.main.patch_entra({"applications": {"update": [{"app_id": CLIENT, "certificates": [certificate]}]}})
    args = {"groups": ["Coconut - Tellers"], "entra_client_certificate": certificate, "entra_client_private_key": key,
            "entra_tenant_id": sites.main.vars["entra_tenant_id"], "entra_client_id": CLIENT, "ca_path": str(sites.ca_bundle),
            "entra_authority_host": sites.main.vars["entra_authority_host"], "entra_graph_url": sites.main.vars["entra_graph_url"]}
    signed_in = subprocess.run([str(VENV_BIN / "ansible"), "localhost", "-m", "coconut.entra.entra_group_info",
                                "-a", json.dumps(args), "-e", "ansible_python_interpreter=%s" % (VENV_BIN / "python")],
                               cwd=work, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert signed_in.returncode == 0, signed_in.stdout + signed_in.stderr
    assert "Ada Lovelace" in signed_in.stdout
