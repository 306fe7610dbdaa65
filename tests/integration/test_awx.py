"""The collection run the way AWX / the Automation Platform runs a job: through ansible-runner, in a private data dir.

AWX lays out a private data directory per job (the project, `inventory/`, `env/extravars`, `env/envvars` holding what
the job's credentials inject), installs the project's `collections/requirements.yml` into it, and starts
`ansible-runner`. Every job event it stores (`artifacts/<ident>/job_events/*.json`) is shown to anyone who can read the
job, so no secret may appear in one, at -vvv too. The credentials come from the custom credential type shipped in
`extensions/awx/`, its injectors rendered the way AWX renders them.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

from . import branch
from .collection import build_tarball, user_env
from .playbook import ROOT, VENV_BIN

pytestmark = pytest.mark.integration

AWX = ROOT / "extensions" / "awx"


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    return build_tarball(tmp_path_factory.mktemp("collection"))


def credential_type():
    return (yaml.safe_load((AWX / "credential_type_inputs.yml").read_text()),
            yaml.safe_load((AWX / "credential_type_injectors.yml").read_text()))


def awx_inject(inputs):
    """What AWX does with a credential of the shipped type at launch: checks the inputs against the input
    configuration, then renders every env injector with them in a sandboxed Jinja environment, where an input left
    empty renders as an empty string. Returns the environment variables the job gets."""
    fields, injectors = credential_type()
    known = {field["id"] for field in fields["fields"]}
    assert set(inputs) <= known, "inputs the credential type does not define: %s" % sorted(set(inputs) - known)
    missing = [name for name in fields.get("required", []) if not inputs.get(name)]
    assert not missing, "required inputs missing: %s" % missing
    assert set(injectors) == {"env"}, "the type injects environment variables only"
    jinja = ImmutableSandboxedEnvironment()
    return {name: jinja.from_string(template).render(**inputs) for name, template in injectors["env"].items()}


def private_data_dir(root, tarball, sandbox, inputs, home):
    """An AWX-style private data dir for one site of the sandbox, with the collection installed from the tarball."""
    root = Path(root)
    project = root / "project"
    (project / "collections").mkdir(parents=True)
    (project / "sync.yml").write_text("---\n- name: Sync\n  ansible.builtin.import_playbook: coconut.entra.sync\n")
    (project / "rotate.yml").write_text("---\n- name: Rotate\n  ansible.builtin.import_playbook: coconut.entra.rotate_token\n")
    (project / "collections" / "requirements.yml").write_text(yaml.safe_dump({"collections": [{"name": str(tarball), "type": "file"}]}))
    (root / "inventory").mkdir()
    (root / "inventory" / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": {"branch": {"coconut_url": sandbox.vars["coconut_url"]}}}}))
    (root / "env").mkdir()
    collections = root / "requirements_collections"
    # AWX's project update: ansible-galaxy installs the project's collection requirements into the job's own path.
    proc = subprocess.run([str(VENV_BIN / "ansible-galaxy"), "collection", "install", "-r", str(project / "collections" / "requirements.yml"),
                           "-p", str(collections)], cwd=root, env=user_env(home), capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    envvars = awx_inject(inputs)
    envvars.update(ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR="1")
    (root / "env" / "envvars").write_text(yaml.safe_dump(envvars))
    return root


def connection_vars(sandbox):
    """What a job template's extra vars hold for the sandbox: its endpoints and CA (a real tenant needs none of these)."""
    return {k: sandbox.vars[k] for k in ("entra_authority_host", "entra_graph_url", "ca_path")}


def run_job(pdd, ident, playbook, extravars, home, cmdline=""):
    """ansible-runner run, as AWX starts a job; returns (status, stdout, events)."""
    (pdd / "env" / "extravars").write_text(yaml.safe_dump(extravars))
    cmd = [str(VENV_BIN / "ansible-runner"), "run", str(pdd), "-p", playbook, "--ident", ident]
    if cmdline:
        cmd.append("--cmdline=" + cmdline)
    proc = subprocess.run(cmd, cwd=pdd, env=user_env(home), capture_output=True, text=True, check=False, timeout=300)
    artifacts = pdd / "artifacts" / ident
    status = (artifacts / "status").read_text().strip() if (artifacts / "status").exists() else "no status"
    events = [json.loads(path.read_text()) for path in sorted((artifacts / "job_events").glob("*.json"))]
    stdout = proc.stdout + proc.stderr + ((artifacts / "stdout").read_text() if (artifacts / "stdout").exists() else "")
    return status, stdout, events


def task_result(events, task):
    found = [e["event_data"]["res"] for e in events
             if e.get("event") == "runner_on_ok" and task in e.get("event_data", {}).get("task", "")]
    assert found, "no runner_on_ok event for %r" % task
    return found[-1]


def assert_no_secret(secrets, stdout, events, pdd):
    secrets = [s for s in secrets if s]
    assert secrets
    texts = {"stdout": stdout}
    texts.update({"job_events/%s" % path.name: path.read_text() for path in sorted(pdd.glob("artifacts/*/job_events/*.json"))})
    assert len(texts) > 1 and events
    leaks = [(where, secret[:4] + "...") for where, text in texts.items() for secret in secrets if secret in text]
    assert leaks == [], "secrets in %s" % leaks


def secret_inputs(sandbox):
    return {"entra_tenant_id": sandbox.vars["entra_tenant_id"], "entra_client_id": sandbox.vars["entra_client_id"],
            "entra_client_secret": sandbox.vars["entra_client_secret"], "coconut_api_token": sandbox.vars["coconut_api_token"]}


def test_credential_type_injects_the_variables_the_modules_read():
    fields, injectors = credential_type()
    secret = {field["id"] for field in fields["fields"] if field.get("secret")}
    assert secret == {"entra_client_secret", "entra_client_private_key", "coconut_api_token"}
    env = awx_inject({"entra_tenant_id": "t", "entra_client_id": "c", "entra_client_certificate": "CERT",
                      "entra_client_private_key": "KEY", "coconut_api_token": "tok"})
    assert env == {"ENTRA_TENANT_ID": "t", "ENTRA_CLIENT_ID": "c", "ENTRA_CLIENT_SECRET": "", "ENTRA_CLIENT_CERTIFICATE": "CERT",
                   "ENTRA_CLIENT_PRIVATE_KEY": "KEY", "COCONUT_API_TOKEN": "tok"}
    # Every injected variable is one a module reads (the env fallbacks documented in the doc fragments).
    fragments = (ROOT / "plugins" / "doc_fragments" / "entra.py").read_text() + (ROOT / "plugins" / "doc_fragments" / "coconut.py").read_text()
    assert [name for name in env if "E(%s)" % name not in fragments] == []


@pytest.mark.slow
def test_awx_jobs_preview_then_apply_with_the_shipped_credential_type_and_no_secret_in_any_event(tarball, start_sandbox, tmp_path):
    sandbox = start_sandbox(branch.scenario())
    home = tmp_path / "home"
    inputs = secret_inputs(sandbox)
    pdd = private_data_dir(tmp_path / "job", tarball, sandbox, inputs, home)
    extravars = dict(connection_vars(sandbox), entra_groups=branch.GROUPS)
    writes_before = sandbox.write_count("coconut")

    status, check_out, check_events = run_job(pdd, "check", "sync.yml", extravars, home, "--check --diff -vvv")
    assert status == "successful", check_out[-3000:]
    assert sandbox.write_count("coconut") == writes_before, "the check job wrote to Coconut"
    preview = task_result(check_events, "Reconcile staff")
    assert preview["changed"] and preview["counts"]["create"] > 0, preview.get("counts")

    status, apply_out, apply_events = run_job(pdd, "apply", "sync.yml", extravars, home, "-vvv")
    assert status == "successful", apply_out[-3000:]
    applied = task_result(apply_events, "Reconcile staff")
    assert applied["counts"] == preview["counts"]
    assert sandbox.write_count("coconut") > writes_before

    assert_no_secret([inputs["entra_client_secret"], inputs["coconut_api_token"]], check_out + apply_out,
                     check_events + apply_events, pdd)


@pytest.mark.slow
def test_awx_rotation_job_rotates_both_credentials_and_shows_neither_secret(tarball, start_sandbox, tmp_path):
    scenario = branch.scenario()
    scenario["entra"]["secret_propagation_seconds"] = 1
    sandbox = start_sandbox(scenario)
    home = tmp_path / "home"
    inputs = secret_inputs(sandbox)
    pdd = private_data_dir(tmp_path / "job", tarball, sandbox, inputs, home)
    credentials = tmp_path / "credentials.yml"
    credentials.write_text(yaml.safe_dump({k: inputs[k] for k in ("entra_client_secret", "coconut_api_token")}))
    credentials.chmod(0o600)
    extravars = dict(connection_vars(sandbox), credentials_file=str(credentials))

    status, stdout, events = run_job(pdd, "rotate", "rotate.yml", extravars, home, "-vvv")
    assert status == "successful", stdout[-3000:]
    new = yaml.safe_load(credentials.read_text())
    assert new["entra_client_secret"] != inputs["entra_client_secret"]
    assert new["coconut_api_token"] != inputs["coconut_api_token"]
    assert_no_secret([inputs["entra_client_secret"], inputs["coconut_api_token"], new["entra_client_secret"], new["coconut_api_token"]],
                     stdout, events, pdd)
