"""The CI recipes in docs/ci/ run here, step by step, against the sandbox, so they cannot rot.

Each recipe's YAML is parsed and its shell steps are run in order with bash, as the CI system would, in a workspace
laid out like a user's inventory repository (a copy of examples/, pointed at two sandboxes: see example_sites.py).
What the CI system provides is faked:

- GitHub Actions: `${{ secrets.X }}`, `${{ github.workspace }}` and `${{ runner.temp }}` in `env:` are substituted;
  GITHUB_STEP_SUMMARY is a temporary file; a step after a failure runs only with `if: always()`; `uses:` steps are
  not run (checkout: the workspace is already there; setup-python: this virtualenv's python is first on PATH), and
  the upload-artifact step's `path` is checked instead.
- GitLab CI: `variables:` are expanded with CI_PROJECT_DIR and friends; before_script + script run as one bash
  script that stops at the first failure; after_script always runs; the `artifacts:paths` are checked.

The recipes' collection source is a variable (COCONUT_ENTRA_SOURCE); the test sets it to a tarball built from this
tree, and the recipes' own `ansible-galaxy collection install -p` installs it. Nothing else in a command changes.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from .collection import build_tarball, user_env
from .example_sites import EXAMPLE_VAULT_PASSWORD_FILE, SITES, copy_examples, point_at_sandboxes, start_sites
from .playbook import ROOT, run_playbook

pytestmark = pytest.mark.integration

CI = ROOT / "docs" / "ci"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
DRIFT = re.compile(r"^fatal: \[(\w+)\]: FAILED! => .*\"msg\": \"drift: Coconut differs from Entra \(([^)]*)\)", re.MULTILINE)


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    return build_tarball(tmp_path_factory.mktemp("collection"))


@dataclass
class Job:
    ok: bool
    steps: list = field(default_factory=list)   # (name, rc or "skipped", output)

    @property
    def output(self):
        return "\n".join("## %s (%s)\n%s" % step for step in self.steps)


def shell(script, cwd, env):
    proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    return proc.returncode, ANSI.sub("", proc.stdout + proc.stderr)


def github_expr(value, context):
    """`${{ a.b }}` from the faked context (an unset secret is empty, as on GitHub)."""
    return re.sub(r"\$\{\{\s*([\w.]+)\s*\}\}", lambda m: context.get(m.group(1), ""), str(value))


def run_github(workspace, tarball, secrets, overrides=None):
    workflow = yaml.safe_load((CI / "github-actions.yml").read_text())
    (job,) = workflow["jobs"].values()
    temp = workspace.parent / "runner-temp"
    temp.mkdir(exist_ok=True)
    summary = workspace.parent / "step-summary.md"
    context = {"github.workspace": str(workspace), "runner.temp": str(temp)}
    context.update({"secrets." + k: v for k, v in secrets.items()})
    env = user_env(workspace.parent / "home", GITHUB_WORKSPACE=workspace, RUNNER_TEMP=temp, GITHUB_STEP_SUMMARY=summary,
                   CI="true", GITHUB_ACTIONS="true")
    env.update({k: github_expr(v, context) for k, v in {**workflow.get("env", {}), **job.get("env", {})}.items()})
    env.update(COCONUT_ENTRA_SOURCE=str(tarball), **(overrides or {}))
    assert job["defaults"]["run"]["shell"] == "bash"
    result = Job(ok=True)
    for step in job["steps"]:
        name = step.get("name") or step.get("uses")
        if not result.ok and not re.search(r"always\(\)|failure\(\)", str(step.get("if", ""))):
            result.steps.append((name, "skipped", ""))
            continue
        if "run" not in step:
            result.steps.append((name, "uses", ""))
            continue
        step_env = dict(env, **{k: github_expr(v, context) for k, v in step.get("env", {}).items()})
        rc, out = shell(step["run"], workspace, step_env)
        result.steps.append((name, rc, out))
        result.ok = result.ok and rc == 0
    result.summary = summary.read_text() if summary.exists() else ""
    result.artifacts = [workspace / s["with"]["path"] for s in job["steps"] if "upload-artifact" in str(s.get("uses"))]
    return result


def run_gitlab(workspace, tarball, variables, overrides=None):
    config = yaml.safe_load((CI / "gitlab-ci.yml").read_text())
    (job,) = [v for k, v in config.items() if isinstance(v, dict) and "script" in v]
    env = user_env(workspace.parent / "home", CI="true", GITLAB_CI="true", CI_PROJECT_DIR=workspace,
                   CI_JOB_URL="https://gitlab.example/group/inventory/-/jobs/1", CI_PIPELINE_SOURCE="merge_request_event")
    for key, value in job.get("variables", {}).items():
        env[key] = re.sub(r"\$(\w+)", lambda m: env.get(m.group(1), ""), str(value))
    env.update(variables)
    env.update(COCONUT_ENTRA_SOURCE=str(tarball), **(overrides or {}))
    result = Job(ok=True)
    rc, out = shell("\n".join(job["before_script"] + job["script"]), workspace, env)
    result.steps.append(("before_script + script", rc, out))
    result.ok = rc == 0
    for index, line in enumerate(job["after_script"]):
        rc, out = shell(line, workspace, env)
        result.steps.append(("after_script[%d]" % index, rc, out))
    result.artifacts = [workspace / path for path in job["artifacts"]["paths"]]
    assert job["artifacts"]["when"] == "always", "the report must be kept when the gate fails"
    return result


@pytest.fixture
def repo(start_sandbox, tmp_path):
    """A user's inventory repository (examples/) checked out in CI, pointed at the sandboxes."""
    sites = start_sites(start_sandbox, tmp_path)
    workspace = copy_examples(tmp_path / "workspace")
    (workspace / "vault-password-EXAMPLE-ONLY.txt").unlink()  # in CI the password comes from the secret store
    point_at_sandboxes(workspace / "inventory", sites)
    return workspace, sites


def apply(workspace):
    """What merging does: the real sync (run from this checkout; the recipes only preview)."""
    result = run_playbook("sync.yml", workspace.parent, inventory=workspace / "inventory",
                          args=["--vault-password-file", str(EXAMPLE_VAULT_PASSWORD_FILE)])
    assert result.rc == 0, result.output


def reports_of(job):
    (reports,) = job.artifacts
    return reports, sorted(p.name for p in reports.iterdir())


ALL_REPORTS = sorted("%s.%s" % (site, ext) for site in SITES for ext in ("html", "json", "md"))


def test_github_actions_recipe_fails_on_drift_and_passes_when_none(repo, tarball):
    workspace, sites = repo
    secrets = {"COCONUT_VAULT_PASSWORD": EXAMPLE_VAULT_PASSWORD_FILE.read_text().strip()}

    pending = run_github(workspace, tarball, secrets)
    assert not pending.ok, pending.output
    statuses = [(name, rc) for name, rc, _out in pending.steps]
    assert [rc for _n, rc in statuses] == ["uses", "uses", 0, 2, 0, "uses"], statuses
    assert sorted(DRIFT.findall(pending.output)) == [("mapleridge_main", "3 create, 1 update"),
                                                     ("mapleridge_online", "2 create, 1 update")], pending.output
    assert pending.summary.count("### Coconut staff sync: CHECK, nothing was written") == 2
    assert "Ada Lovelace" in pending.summary and "Hedy Lamarr" in pending.summary
    assert reports_of(pending)[1] == ALL_REPORTS
    assert not [r for s in (sites.main, sites.online) for r in s.requests() if r["method"] != "GET" and r["service"] != "login"]

    apply(workspace)
    clean = run_github(workspace, tarball, secrets)
    assert clean.ok, clean.output
    assert clean.summary.count("No changes: Coconut's staff already equal the members") == 2
    assert reports_of(clean)[1] == ALL_REPORTS


def test_github_actions_recipe_with_credentials_in_the_environment(repo, tarball):
    """No vault: one site per job, the secrets from the secret store read by the modules' env fallbacks."""
    workspace, sites = repo
    for vault in (workspace / "inventory").rglob("vault.yml"):
        vault.unlink()
    secrets = {"ENTRA_CLIENT_SECRET": sites.main.vars["entra_client_secret"],
               "COCONUT_API_TOKEN": sites.online.vars["coconut_api_token"]}
    job = run_github(workspace, tarball, secrets, overrides={"COCONUT_SITES": "mapleridge_online"})
    assert not job.ok
    assert DRIFT.findall(job.output) == [("mapleridge_online", "2 create, 1 update")], job.output
    assert reports_of(job)[1] == ["mapleridge_online.html", "mapleridge_online.json", "mapleridge_online.md"]


def test_gitlab_ci_recipe_fails_on_drift_and_passes_when_none(repo, tarball):
    workspace, _sites = repo
    variables = {"ANSIBLE_VAULT_PASSWORD_FILE": str(EXAMPLE_VAULT_PASSWORD_FILE)}  # a "File" CI/CD variable

    pending = run_gitlab(workspace, tarball, variables)
    assert not pending.ok, pending.output
    assert sorted(DRIFT.findall(pending.output)) == [("mapleridge_main", "3 create, 1 update"),
                                                     ("mapleridge_online", "2 create, 1 update")], pending.output
    assert all(rc == 0 for _n, rc, _o in pending.steps[1:]), pending.output
    reports, names = reports_of(pending)
    assert names == sorted(ALL_REPORTS + ["merge-request-note.md"])
    note = (reports / "merge-request-note.md").read_text()
    assert note.count("### Coconut staff sync: CHECK, nothing was written") == 2
    assert "Full report: https://gitlab.example/group/inventory/-/jobs/1/artifacts/browse/reports/" in note

    apply(workspace)
    clean = run_gitlab(workspace, tarball, variables)
    assert clean.ok, clean.output
    assert (reports / "merge-request-note.md").read_text().count("No changes") == 2


def test_recipes_use_the_installed_playbook_name():
    for recipe in CI.glob("*.yml"):
        text = recipe.read_text()
        assert "ansible-playbook coconut.entra.sync " in text, recipe
        assert "playbooks/sync.yml" not in text, recipe
    assert os.path.exists(CI / "github-actions.yml") and os.path.exists(CI / "gitlab-ci.yml")
    assert Path(CI / "gitlab-ci.yml").read_text().count("coconut_fail_on_drift=true") == 1
