"""rotate_token.yml against the sandbox: no downtime, cleanup on failure, no secret in any output; sync errors on dead credentials."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest
import yaml

from . import branch
from .playbook import ROOT, VENV_BIN, run_playbook

pytestmark = pytest.mark.integration

VAULT_PASSWORD = "vault-pass-for-tests"
PROPAGATION_SECONDS = 3


@pytest.fixture
def site(start_sandbox, tmp_path):
    return make_site(start_sandbox, tmp_path, branch.scenario())


def make_site(start_sandbox, tmp_path, scenario, propagation=PROPAGATION_SECONDS, vault=True):
    """The branch in the sandbox, with connection vars in one file and the credentials in another (vaulted)."""
    scenario["entra"]["secret_propagation_seconds"] = propagation
    sandbox = start_sandbox(scenario)
    variables = dict(sandbox.vars)
    credentials = {k: variables.pop(k) for k in ("entra_client_secret", "coconut_api_token")}
    sandbox.connection_file = tmp_path / "connection.yml"
    sandbox.connection_file.write_text(yaml.safe_dump(variables))
    sandbox.credentials_file = tmp_path / "credentials.yml"
    sandbox.credentials_file.write_text("# Coconut and Entra credentials for sync.yml\n" + yaml.safe_dump(credentials))
    sandbox.credentials_file.chmod(0o644)
    sandbox.password_file = tmp_path / "vault-pass"
    sandbox.password_file.write_text(VAULT_PASSWORD + "\n")
    if vault:
        vault_cli("encrypt", sandbox, sandbox.credentials_file)
    sandbox.old = credentials
    return sandbox


def vault_cli(action, site, path):
    import subprocess

    proc = subprocess.run([str(VENV_BIN / "ansible-vault"), action, "--vault-password-file", str(site.password_file), str(path)],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def read_credentials(site):
    text = site.credentials_file.read_text()
    if text.startswith("$ANSIBLE_VAULT"):
        text = vault_cli("view", site, site.credentials_file)
    return yaml.safe_load(text)


def rotate(site, tmp_path, verbosity=0, **extra):
    variables = {"credentials_file": str(site.credentials_file)}
    variables.update(extra)
    return run_playbook("rotate_token.yml", tmp_path, vars_files=[site.connection_file], extra=variables, verbosity=verbosity,
                        args=["--vault-password-file", str(site.password_file)])


def sync(site, tmp_path, check=True, credentials=None):
    files = [site.connection_file, credentials or site.credentials_file]
    return run_playbook("sync.yml", tmp_path, vars_files=files, extra={"entra_groups": branch.GROUPS}, check=check,
                        args=["--vault-password-file", str(site.password_file)])


def app(site):
    return site.state()["entra"]["applications"][0]


def live_tokens(site):
    return [t for t in site.state()["coconut"]["api_tokens"] if not t.get("revoked")]


def assert_no_secret(output, *values):
    for value in values:
        assert value not in output, "a secret (starting %r) appears in the output" % value[:3]


# ---- the rotation ---------------------------------------------------------------------------------


def test_rotation_replaces_both_credentials_with_no_secret_in_any_output(site, tmp_path):
    started = time.monotonic()
    run = rotate(site, tmp_path, verbosity=4)
    elapsed = time.monotonic() - started
    print("\nrotate_token.yml (both credentials, -vvvv, %d s secret propagation) took %.1f s on the sandbox"
          % (PROPAGATION_SECONDS, elapsed))
    assert run.rc == 0, run.output

    new = read_credentials(site)
    assert new["entra_client_secret"] != site.old["entra_client_secret"]
    assert new["coconut_api_token"] != site.old["coconut_api_token"]

    # The file: still vault-encrypted, 0600, comment kept.
    assert site.credentials_file.read_text().startswith("$ANSIBLE_VAULT;1.1;AES256")
    assert stat.S_IMODE(site.credentials_file.stat().st_mode) == 0o600
    assert "# Coconut and Entra credentials" in vault_cli("view", site, site.credentials_file)

    # The services: only the new secret, only the new token.
    assert [s["text"] for s in app(site)["secrets"]] == [new["entra_client_secret"]]
    assert [t["value"] for t in live_tokens(site)] == [new["coconut_api_token"]]

    # No secret, old or new, in stdout/stderr at -vvvv, nor in what the callbacks saw.
    secrets = [*site.old.values(), new["entra_client_secret"], new["coconut_api_token"]]
    assert_no_secret(run.output, *secrets)
    recorded = "".join(p.read_text() for p in Path(tmp_path).glob("results-*.jsonl"))
    assert_no_secret(recorded, *secrets)
    assert_no_secret(str(site.state()["coconut"]["integration"]), *secrets)

    # Leave one run's output for the note (artifacts/ is git-ignored).
    artifacts = ROOT / "artifacts"
    artifacts.mkdir(exist_ok=True)
    started = time.monotonic()
    quiet = rotate(site, tmp_path)
    print("rotate_token.yml (both credentials, default verbosity) took %.1f s on the sandbox" % (time.monotonic() - started))
    assert quiet.rc == 0, quiet.output
    newest = read_credentials(site)
    assert_no_secret(quiet.output, *secrets, *newest.values())
    (artifacts / "rotation-output.txt").write_text(quiet.stdout)

    # sync.yml -e @credentials_file works with what the file now holds.
    result = sync(site, tmp_path)
    assert result.rc == 0, result.output


def test_the_old_credentials_stop_working_after_rotation(site, tmp_path):
    run = rotate(site, tmp_path)
    assert run.rc == 0, run.output
    old_file = tmp_path / "old-credentials.yml"
    old_file.write_text(yaml.safe_dump(site.old))
    result = sync(site, tmp_path, credentials=old_file)
    assert result.rc != 0
    assert "AADSTS7000215" in result.output


def test_at_no_moment_neither_credential_works(site, tmp_path):
    """Every Entra login and Coconut call during the rotation succeeded, except the polls of the not-yet-replicated secret."""
    site.clear_requests()
    run = rotate(site, tmp_path)
    assert run.rc == 0, run.output
    requests = site.requests()
    refused_logins = [r for r in requests if r["service"] == "login" and r["status"] == 401]
    assert refused_logins, "the sandbox's propagation delay was not exercised"
    assert all(r["status"] < 400 for r in requests if r["service"] != "login"), requests
    # The old secret was removed only after the file held the new one, and the old token revoked likewise:
    # removePassword and DELETE api-tokens are the last writes of each half.
    writes = [(r["service"], r["method"], r["path"]) for r in requests if r["method"] in ("POST", "DELETE") and r["service"] != "login"]
    assert [w for w in writes if "Password" in w[2]] == [w for w in writes if "Password" in w[2]][:2]
    assert writes[0][2].endswith("/addPassword") and writes[1][2].endswith("/removePassword")
    assert writes[2][1] == "POST" and writes[3][1] == "DELETE"


def test_a_plain_file_stays_plain(start_sandbox, tmp_path):
    site = make_site(start_sandbox, tmp_path, branch.scenario(), propagation=0, vault=False)
    run = rotate(site, tmp_path, rotate="coconut_token")
    assert run.rc == 0, run.output
    text = site.credentials_file.read_text()
    assert not text.startswith("$ANSIBLE_VAULT")
    values = yaml.safe_load(text)
    assert values["entra_client_secret"] == site.old["entra_client_secret"], "only the token was to be rotated"
    assert values["coconut_api_token"] != site.old["coconut_api_token"]
    assert len(app(site)["secrets"]) == 1 and app(site)["secrets"][0]["text"] == site.old["entra_client_secret"]


def test_an_inline_vaulted_value_stays_inline_vaulted(start_sandbox, tmp_path):
    site = make_site(start_sandbox, tmp_path, branch.scenario(), propagation=0, vault=False)
    import subprocess

    encrypted = subprocess.run([str(VENV_BIN / "ansible-vault"), "encrypt_string", "--vault-password-file", str(site.password_file),
                                site.old["coconut_api_token"], "--name", "coconut_api_token"],
                               cwd=ROOT, capture_output=True, text=True, check=True).stdout
    site.credentials_file.write_text("entra_client_secret: %s\n%s# kept\n" % (site.old["entra_client_secret"], encrypted))
    run = rotate(site, tmp_path, rotate=["coconut_token"])
    assert run.rc == 0, run.output
    text = site.credentials_file.read_text()
    assert "coconut_api_token: !vault |" in text and text.endswith("# kept\n")
    assert site.old["coconut_api_token"] not in text
    new_token = live_tokens(site)[0]["value"]
    assert new_token not in text, "the new token was written in clear"
    assert sync(site, tmp_path).rc == 0


def test_other_secrets_stay_and_colliding_hints_need_the_key_id(start_sandbox, tmp_path):
    scenario = branch.scenario()
    old = scenario["entra"]["applications"][0]["secrets"][0]
    twin = {"key_id": branch.oid("twin-secret"), "text": old["text"][:3] + "-another-secret-value", "end": "2099-01-01T00:00:00Z"}
    scenario["entra"]["applications"][0]["secrets"].append(twin)
    site = make_site(start_sandbox, tmp_path, scenario, propagation=0)

    ambiguous = rotate(site, tmp_path, rotate=["entra_secret"])
    assert ambiguous.rc != 0
    assert "entra_secret_key_id" in ambiguous.output and "identify the client secret in use" in ambiguous.output
    assert len(app(site)["secrets"]) == 2, "something was added although the old secret was unknown"
    assert read_credentials(site) == site.old

    named = rotate(site, tmp_path, rotate=["entra_secret"], entra_secret_key_id=old["key_id"])
    assert named.rc == 0, named.output
    texts = {s["text"] for s in app(site)["secrets"]}
    assert texts == {twin["text"], read_credentials(site)["entra_client_secret"]}, "exactly the old secret is removed"


# ---- failures leave the old credential working and in the file ------------------------------------


def assert_old_credentials_intact(site, tmp_path):
    assert read_credentials(site) == site.old
    assert [s["text"] for s in app(site)["secrets"]] == [site.old["entra_client_secret"]]
    assert [t["value"] for t in live_tokens(site)] == [site.old["coconut_api_token"]]
    result = sync(site, tmp_path)
    assert result.rc == 0, result.output


def test_a_secret_login_never_accepts_is_removed_and_the_step_named(start_sandbox, tmp_path):
    site = make_site(start_sandbox, tmp_path, branch.scenario(), propagation=600)
    run = rotate(site, tmp_path, entra_secret_wait_timeout=3)
    assert run.rc != 0
    assert "rotation step 'wait until Entra login accepts the new client secret' failed" in run.output
    assert "was removed" in run.output and "still works" in run.output
    assert_old_credentials_intact(site, tmp_path)


def test_a_graph_read_that_fails_with_the_new_secret_removes_it(site, tmp_path):
    site.faults([{"service": "graph", "method": "GET", "path": r"/users\?", "status": 403, "times": 1,
                  "body": {"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation."}}}])
    run = rotate(site, tmp_path, rotate=["entra_secret"])
    assert run.rc != 0
    assert "rotation step 'prove the sync's Graph reads with the new client secret' failed" in run.output
    assert "User.Read.All" in run.output
    site.faults([])
    assert_old_credentials_intact(site, tmp_path)


def test_a_file_that_cannot_be_written_removes_the_new_secret(site, tmp_path):
    plain = vault_cli("view", site, site.credentials_file)
    site.credentials_file.write_text(plain + "entra_client_secret: %s\n" % site.old["entra_client_secret"])  # a duplicate key
    vault_cli("encrypt", site, site.credentials_file)
    run = rotate(site, tmp_path, rotate=["entra_secret"])
    assert run.rc != 0
    assert "rotation step 'write the credentials file' failed" in run.output
    assert "appears more than once" in run.output and "was removed" in run.output
    assert [s["text"] for s in app(site)["secrets"]] == [site.old["entra_client_secret"]]
    assert read_credentials(site)["entra_client_secret"] == site.old["entra_client_secret"]


def test_a_new_token_that_does_not_work_is_revoked(site, tmp_path):
    site.faults([{"service": "coconut", "method": "GET", "path": r"/users", "status": 401, "times": 1,
                  "body": {"errors": [{"status": "401", "code": "token_invalid", "title": "Unauthorized"}]}}])
    run = rotate(site, tmp_path, rotate=["coconut_token"])
    assert run.rc != 0
    assert "rotation step 'prove the new Coconut API token' failed" in run.output and "was revoked" in run.output
    site.faults([])
    assert_old_credentials_intact(site, tmp_path)


def test_an_old_token_that_cannot_be_revoked_is_named_and_the_file_holds_the_new_one(site, tmp_path):
    site.faults([{"service": "coconut", "method": "DELETE", "path": r"/api-tokens/t1", "status": 403, "times": 1,
                  "body": {"errors": [{"status": "403", "code": "forbidden", "title": "Forbidden"}]}}])
    run = rotate(site, tmp_path, rotate=["coconut_token"])
    assert run.rc != 0
    assert "rotation step 'revoke the old Coconut API token' failed" in run.output
    assert "The token (id t1) is still valid: revoke it in Coconut" in run.output and "which works" in run.output
    site.faults([])
    assert read_credentials(site)["coconut_api_token"] != site.old["coconut_api_token"]


def test_check_mode_adds_and_writes_nothing(site, tmp_path):
    before = site.state()
    run = run_playbook("rotate_token.yml", tmp_path, vars_files=[site.connection_file], check=True,
                       extra={"credentials_file": str(site.credentials_file)}, args=["--vault-password-file", str(site.password_file)])
    assert run.rc == 0, run.output
    assert site.state() == before
    assert read_credentials(site) == site.old


# ---- sync.yml with a dead credential fails before any write, with the cause and the fix -----------


def test_sync_with_an_expired_secret_names_rotate_token(start_sandbox, tmp_path):
    scenario = branch.scenario()
    scenario["entra"]["applications"][0]["secrets"][0]["end"] = "2020-01-01T00:00:00Z"
    site = make_site(start_sandbox, tmp_path, scenario, propagation=0)
    result = sync(site, tmp_path, check=False)
    assert result.rc != 0
    assert "AADSTS7000222" in result.output and "rotate_token.yml" in result.output
    assert site.writes("coconut") == []


def test_sync_with_a_revoked_token_names_the_fix(site, tmp_path):
    site.patch_coconut({"api_tokens": {"update": [{"id": "t1", "revoked": True}]}})
    result = sync(site, tmp_path, check=False)
    assert result.rc != 0
    assert "token_revoked" in result.output and "connect.yml" in result.output
    assert site.writes("coconut") == []


def test_sync_with_revoked_consent_names_the_permission_and_connect(site, tmp_path):
    site.patch_entra({"applications": {"update": [{"app_id": branch.APP, "roles": ["Application.ReadWrite.OwnedBy"]}]}})
    result = sync(site, tmp_path, check=False)
    assert result.rc != 0
    assert "403" in result.output and "GroupMember.Read.All" in result.output
    assert "connect.yml" in result.output
    assert site.writes("coconut") == []
