"""Bad input: a clear error naming the thing and the fix, and not one write.

Most cases run the module's one call in this process (direct.py): its message is the module's
fail_json msg word for word, and a playbook run costs ten times as long. Those where Ansible
itself is part of the story (the credentials file, what the terminal shows) go through sync.yml.
(Unknown or ambiguous group names, a wrong secret, an invalid token, an unreachable host, a mapping
that does not compile and a missing required field are pinned through the playbook in test_sync.py.)
"""

from __future__ import annotations

import subprocess
import uuid

import pytest
import trustme
import yaml

from . import branch
from .direct import run_sync
from .playbook import ROOT, VENV_BIN, run_playbook

pytestmark = pytest.mark.integration


def make_site(start_sandbox, tmp_path, scenario=None):
    return start_sandbox(scenario or branch.scenario())


@pytest.fixture
def site(start_sandbox, tmp_path):
    return make_site(start_sandbox, tmp_path)


def sync(site, tmp_path, check=False, **extra):
    variables = {"entra_groups": branch.GROUPS}
    variables.update(extra)
    return run_playbook("sync.yml", tmp_path, vars_files=[site.vars_file], extra=variables, check=check)


def refused(site, *expected, **options):
    """In process: the sync fails, its message holds every expected phrase, and nothing was written."""
    outcome = run_sync(site, **dict({"groups": branch.GROUPS, "archive_threshold": "10%"}, **options))
    assert not outcome.ok, outcome
    missing = [text for text in expected if text not in outcome.msg]
    assert not missing, "missing %s in: %s" % (missing, outcome.msg)
    assert site.writes() == []
    return outcome.msg


def outcome_record_only(site):
    """Coconut was asked nothing but its integration record, to record the refused credential there (issue 12)."""
    record = "/api/v2/integrations/entra-id"
    return {(r["method"], r["path"]) for r in site.requests("coconut")} <= {("GET", record), ("PUT", record)}


def failed(run, *expected):
    """The run failed and its output holds every expected phrase."""
    assert run.rc != 0, run.output
    missing = [text for text in expected if text not in run.output]
    assert not missing, "missing %s in:\n%s" % (missing, run.output)
    return run


# ---- groups ----------------------------------------------------------------------------------

def test_unknown_group_id(site, tmp_path):
    ghost = str(uuid.uuid4())
    refused(site, "no Entra group with id %s" % ghost, "check entra_groups", "Object ID", groups=[ghost])


def test_malformed_group_id_is_taken_as_a_name(site, tmp_path):
    # One hex digit short of a GUID: not an id, so it is looked up as a display name, and no group has that name.
    malformed = branch.oid("g-tellers")[:-1]
    failed(sync(site, tmp_path, entra_groups=[malformed]), "no Entra group named '%s'" % malformed,
           "check the spelling in entra_groups", "mistyped object id", "8-4-4-4-12 hex digits")
    assert site.writes() == []


# ---- mapping ---------------------------------------------------------------------------------

def test_unknown_mapping_field(site):
    site.clear_requests()
    refused(site, "coconut_staff_mapping has unknown staff field(s) phone", "the fields that can be mapped are first_name",
            mapping={"phone": "user.mobilePhone"})
    assert site.requests() == [], "a config error fails before any request"


@pytest.mark.parametrize("expression, says", [
    ("user.surname + 1", "TypeError"),                                   # fails at run time, for everyone
    ("user.__class__.__mro__", "blocked by the sandbox"),                 # an escape attempt
    ("user.givenName.__class__.__base__.__subclasses__()", "blocked by the sandbox"),
], ids=["runtime-error", "class-mro", "subclasses"])
def test_mapping_expression_failing_for_users_names_them_and_writes_nothing(site, expression, says):
    message = refused(site, "job_title", says, "Ada Lovelace", "coconut_invalid_users", mapping={"job_title": expression})
    assert "Traceback" not in message


def test_mapping_giving_one_user_an_empty_email(start_sandbox, tmp_path):
    scenario = branch.scenario()
    scenario["entra"]["users"][2]["mail"] = "   "  # Alan: his mail is blank, and the mapping reads only mail
    site = make_site(start_sandbox, tmp_path, scenario)
    message = refused(site, "Alan Turing", "email", "email is required", "coconut_invalid_users", mapping={"email": "user.mail"})
    assert "Ada Lovelace" not in message, "only the user without an email is named"


# ---- where Coconut is ------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["http://127.0.0.1:1/", "https://", "garbage", "ftp://mapleridge.coconutcalendar.com"])
def test_invalid_coconut_url(site, url):
    site.clear_requests()
    refused(site, "coconut_url must be the https:// address of the Coconut site", "https://<site>.coconutcalendar.com",
            repr(url), coconut_url=url)
    assert site.requests("coconut") == []


def test_wrong_ca(site, tmp_path):
    other_ca = tmp_path / "other-ca.pem"
    other_ca.write_bytes(trustme.CA().cert_pem.bytes())
    run = failed(sync(site, tmp_path, ca_path=str(other_ca)), "TLS certificate verification", "failed",
                 "check that ca_path (%s) holds the CA" % other_ca)
    assert "CERTIFICATE_VERIFY_FAILED" in run.output or "certificate verify failed" in run.output
    assert site.requests() == [], "no request got through TLS"


# ---- credentials -----------------------------------------------------------------------------

def test_expired_secret(start_sandbox, tmp_path):
    scenario = branch.scenario()
    scenario["entra"]["applications"][0]["secrets"][0]["end"] = "2020-01-01T00:00:00Z"
    site = make_site(start_sandbox, tmp_path, scenario)
    refused(site, "AADSTS7000222", "expired", "rotate_token.yml", "entra_client_secret")
    assert outcome_record_only(site)


def test_unknown_app(site):
    ghost = str(uuid.uuid4())
    refused(site, "AADSTS700016", ghost, "entra_client_id", "Application (client) ID", entra_client_id=ghost)
    assert outcome_record_only(site)


def test_tenant_not_found(site):
    ghost = str(uuid.uuid4())
    refused(site, "AADSTS90002", ghost, "check entra_tenant_id", entra_tenant_id=ghost)
    assert outcome_record_only(site)


@pytest.mark.parametrize("missing", ["GroupMember.Read.All", "User.Read.All"])
def test_missing_graph_permission(start_sandbox, tmp_path, missing):
    scenario = branch.scenario()
    app = scenario["entra"]["applications"][0]
    app["roles"] = [role for role in app["roles"] if role != missing]
    site = make_site(start_sandbox, tmp_path, scenario)
    refused(site, "403", "Authorization_RequestDenied", missing, "grant admin consent")


def test_revoked_coconut_token(site, tmp_path):
    site.patch_coconut({"api_tokens": {"update": [{"id": "t1", "revoked": True}]}})
    run = failed(sync(site, tmp_path), "the Coconut API token was revoked", "coconut_api_token", "connect.yml")
    assert branch.API_TOKEN not in run.output
    assert site.writes() == []


# ---- safety limits ---------------------------------------------------------------------------

def test_archive_threshold_names_the_count_the_limit_and_the_override(site):
    message = refused(site, "threshold", "coconut_force_archive", archive_threshold="5%")
    assert "2" in message.split("threshold", 1)[0], "the number of archives is given: %s" % message


def test_every_user_disabled_is_an_empty_scope(start_sandbox, tmp_path):
    scenario = branch.scenario()
    for user in scenario["entra"]["users"]:
        user["accountEnabled"] = False
    site = make_site(start_sandbox, tmp_path, scenario)
    refused(site, "no enabled users", "coconut_force_archive")


# ---- the credentials file --------------------------------------------------------------------

def vault_file(tmp_path, content, password):
    """An Ansible Vault-encrypted vars file."""
    plain = tmp_path / "credentials.yml"
    plain.write_text(yaml.safe_dump(content))
    password_file = tmp_path / "vault-pass"
    password_file.write_text(password + "\n")
    subprocess.run([str(VENV_BIN / "ansible-vault"), "encrypt", "--vault-password-file", str(password_file), str(plain)],
                   cwd=ROOT, check=True, capture_output=True)
    return plain


def test_credentials_file_with_the_wrong_vault_password(site, tmp_path):
    credentials = vault_file(tmp_path, {"entra_client_secret": branch.SECRET, "coconut_api_token": branch.API_TOKEN},
                             "the-right-password")
    wrong = tmp_path / "wrong-pass"
    wrong.write_text("not-the-password\n")
    site.clear_requests()
    run = run_playbook("sync.yml", tmp_path, vars_files=[site.vars_file, credentials], extra={"entra_groups": branch.GROUPS},
                       args=["--vault-password-file", str(wrong)])
    failed(run, "Decryption failed")
    assert branch.SECRET not in run.output and branch.API_TOKEN not in run.output
    assert site.requests() == [], "nothing is even read"


def test_credentials_file_that_cannot_be_read(site, tmp_path):
    # Tests run as root, for whom chmod 000 stops nothing: a missing file and a directory stand in for "unreadable".
    site.clear_requests()
    for path in (tmp_path / "no-such-credentials.yml", tmp_path):
        run = run_playbook("sync.yml", tmp_path, vars_files=[site.vars_file, path], extra={"entra_groups": branch.GROUPS})
        assert run.rc != 0
        assert str(path) in run.output, run.output
        assert "not found" in run.output or "could not be read" in run.output.lower() or "Is a directory" in run.output \
            or "Unable to" in run.output, run.output
    assert site.requests() == []
