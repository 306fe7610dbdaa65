"""Secrets never shown, TLS on by default, mapping expressions kept in their sandbox, Entra values never
evaluated, the HTML report escaped, credentials files written 0600 and atomically."""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import stat
import subprocess

import pytest
import trustme
import yaml

from ansible_collections.coconut.entra.plugins import modules as collection_modules

from . import branch
from .direct import run_sync
from .playbook import ROOT, VENV_BIN, run_playbook

pytestmark = pytest.mark.integration

SECRET_WORDS = ("secret", "token", "key", "password", "private")
# Options whose names sound secret but hold a public identifier, declared no_log=False on purpose.
NOT_SECRET = {
    ("entra_app_secret", "key_id"): "a client secret's keyId, shown in the Entra portal; not a credential",
    ("entra_app_secret", "current_key_id"): "the keyId of the secret in use; not a credential",
}
VAULT_PASSWORD = "vault-password-for-the-security-test"


# ---- every secret option is no_log -----------------------------------------------------------

class _Captured(Exception):
    pass


def argument_spec_of(module):
    """The argument_spec a module's main() gives AnsibleModule (captured; main stops there)."""
    seen = {}

    def capture(*_args, **kwargs):
        seen.update(kwargs)
        raise _Captured()

    original = module.AnsibleModule
    module.AnsibleModule = capture
    try:
        module.main()
    except _Captured:
        pass
    finally:
        module.AnsibleModule = original
    return seen["argument_spec"]


def module_argument_specs():
    """{module name: argument_spec}, from each module's main(), or for an action-only module its action plugin."""
    specs = {}
    for info in pkgutil.iter_modules(collection_modules.__path__):
        module = importlib.import_module("%s.%s" % (collection_modules.__name__, info.name))
        if hasattr(module, "main"):
            specs[info.name] = argument_spec_of(module)
        else:  # credentials_file runs entirely as an action plugin, where its spec lives
            action = importlib.import_module("ansible_collections.coconut.entra.plugins.action.%s" % info.name)
            specs[info.name] = action.ActionModule.ARGUMENT_SPEC
    return specs


def options(spec, prefix=""):
    for name, option in spec.items():
        yield prefix + name, option
        yield from options(option.get("options") or {}, prefix + name + ".")


def test_every_secret_option_is_no_log():
    specs = module_argument_specs()
    assert {"staff_sync", "integration", "entra_app_secret", "api_token", "credentials_file"} <= set(specs)
    checked, leaks = [], []
    for module, spec in specs.items():
        for name, option in options(spec):
            if not any(word in name for word in SECRET_WORDS):
                continue
            checked.append((module, name))
            if (module, name) in NOT_SECRET:
                assert option.get("no_log") is False, "%s.%s: declare no_log=False explicitly" % (module, name)
            elif option.get("no_log") is not True:
                leaks.append("%s.%s" % (module, name))
    assert leaks == [], "options holding secrets without no_log=True: %s" % leaks
    assert ("staff_sync", "entra_client_secret") in checked and ("staff_sync", "entra_client_private_key") in checked
    assert ("staff_sync", "coconut_api_token") in checked


def test_playbooks_hide_the_values_they_pass_to_credentials_file():
    # credentials_file's `values` are the new secrets; the action never echoes them, and the task is no_log as well.
    for path in (ROOT / "playbooks").glob("*.yml"):
        for play in yaml.safe_load(path.read_text()) or []:
            for task in _tasks(play.get("tasks") or []):
                if any(key.endswith("credentials_file") for key in task):
                    assert task.get("no_log") is True, "%s: task %r" % (path.name, task.get("name"))


def _tasks(tasks):
    for task in tasks:
        yield task
        for key in ("block", "rescue", "always"):
            yield from _tasks(task.get(key) or [])


# ---- no secret in any output, at -vvvv -------------------------------------------------------

def rsa_certificate():
    issued = trustme.CA().issue_cert("coconut-sync.mapleridge.example", key_type=trustme.KeyType.RSA)
    return issued.cert_chain_pems[0].bytes().decode(), issued.private_key_pem.bytes().decode()


def secret_fragments(value):
    """The value, and for a PEM every base64 line of it (a key must not leak even line by line)."""
    if "-----BEGIN" not in value:
        return [value]
    return [value] + [line for line in value.splitlines() if line and not line.startswith("-----") and len(line) >= 40]


def assert_nothing_holds(texts, secrets):
    for where, text in texts.items():
        for name, value in secrets.items():
            for fragment in secret_fragments(value):
                assert fragment not in text, "%s appears in %s" % (name, where)


def test_no_secret_in_any_output_report_or_log_at_vvvv(start_sandbox, tmp_path):
    certificate, private_key = rsa_certificate()
    scenario = branch.scenario()
    scenario["entra"]["applications"][0]["certificates"] = [certificate]
    site = start_sandbox(scenario)
    connection = {k: v for k, v in site.vars.items() if k not in ("entra_client_secret", "coconut_api_token")}
    connection_file = tmp_path / "connection.yml"
    connection_file.write_text(yaml.safe_dump(connection))
    credentials_file = tmp_path / "credentials.yml"
    credentials_file.write_text(yaml.safe_dump({"entra_client_secret": branch.SECRET, "coconut_api_token": branch.API_TOKEN}))
    password_file = tmp_path / "vault-pass"
    password_file.write_text(VAULT_PASSWORD + "\n")
    subprocess.run([str(VENV_BIN / "ansible-vault"), "encrypt", "--vault-password-file", str(password_file), str(credentials_file)],
                   check=True, capture_output=True)
    certificate_file = tmp_path / "certificate.yml"
    certificate_file.write_text(yaml.safe_dump({"entra_client_certificate": certificate, "entra_client_private_key": private_key,
                                                "coconut_api_token": branch.API_TOKEN}))
    log = tmp_path / "ansible.log"
    report = tmp_path / "report" / "sync.html"
    report.parent.mkdir()
    env = {"ANSIBLE_LOG_PATH": str(log)}
    vault = ["--vault-password-file", str(password_file)]
    groups = {"entra_groups": branch.GROUPS, "coconut_sync_report": str(report)}

    def play(name, files, extra=None, **kwargs):
        run = run_playbook(name, tmp_path, vars_files=[connection_file, *files], extra=extra, verbosity=4, env=env, args=vault,
                           **kwargs)
        assert run.rc == 0, run.output[-3000:]
        return run

    runs = [
        play("connect.yml", [credentials_file], {"entra_groups": branch.GROUPS}, diff=True),
        play("sync.yml", [credentials_file], groups, check=True, diff=True),
        play("sync.yml", [certificate_file], groups, diff=True),
        play("rotate_token.yml", [], {"credentials_file": str(credentials_file)}),
    ]
    rotated = yaml.safe_load(subprocess.run([str(VENV_BIN / "ansible-vault"), "view", *vault, str(credentials_file)],
                                            check=True, capture_output=True, text=True).stdout)
    assert rotated["entra_client_secret"] != branch.SECRET and rotated["coconut_api_token"] != branch.API_TOKEN
    runs.append(play("sync.yml", [credentials_file], groups, diff=True))
    runs.append(play("disconnect.yml", [credentials_file]))

    secrets = {"entra_client_secret": branch.SECRET, "coconut_api_token": branch.API_TOKEN,
               "entra_client_private_key": private_key, "the rotated entra_client_secret": rotated["entra_client_secret"],
               "the rotated coconut_api_token": rotated["coconut_api_token"]}
    texts = {"log file": log.read_text()}
    for index, run in enumerate(runs):
        texts["run %d stdout" % index] = run.stdout
        texts["run %d stderr" % index] = run.stderr
        texts["run %d results" % index] = json.dumps(run.results)
    for path in report.parent.iterdir():
        texts[path.name] = path.read_text()
    assert {"sync.html", "sync.json", "sync.md"} <= set(texts), sorted(texts)
    assert len(texts["log file"]) > 10000, "the log holds the -vvvv output"
    assert "<ESTABLISH LOCAL CONNECTION" in texts["run 2 stdout"] or "ESTABLISH" in texts["run 2 stdout"], "really -vvvv"
    assert_nothing_holds(texts, secrets)


# ---- TLS -------------------------------------------------------------------------------------

def sync_run(site, tmp_path, check=True, drop=(), **extra):
    variables = {k: v for k, v in site.vars.items() if k not in drop}
    variables.update({"entra_groups": branch.GROUPS})
    variables.update(extra)
    return run_playbook("sync.yml", tmp_path, extra=variables, check=check)


def test_tls_is_verified_by_default(start_sandbox, tmp_path):
    site = start_sandbox(branch.scenario())
    run = sync_run(site, tmp_path, drop=("ca_path",))
    assert run.rc != 0
    assert "TLS certificate verification of Entra login" in run.output and "failed" in run.output
    assert "set ca_path to that CA's bundle" in run.output
    assert site.requests() == [], "nothing got through TLS"


def test_validate_certs_false_warns_loudly(start_sandbox, tmp_path):
    site = start_sandbox(branch.scenario())
    run = sync_run(site, tmp_path, drop=("ca_path",), validate_certs=False)
    assert run.rc == 0, run.output
    assert "[WARNING]: validate_certs is false: TLS certificates are NOT verified" in run.output
    assert "anyone on the network path can read the credentials" in run.output


# ---- the mapping sandbox and Entra values ----------------------------------------------------

@pytest.mark.parametrize("expression", [
    "range(10**9) | list | length", "self", "cycler", "config", "joiner", "namespace()",
    "user.__class__.__init__.__globals__", "'x' * 10**9", "user.update({'mail': 'x'})", "user.pop('mail')",
])
def test_only_the_users_attributes_are_in_reach_of_a_mapping(start_sandbox, expression):
    site = start_sandbox(branch.scenario())
    outcome = run_sync(site, groups=branch.GROUPS, archive_threshold="10%", mapping={"language": expression})
    assert not outcome.ok, "%s was accepted" % expression
    assert "coconut_staff_mapping.language" in outcome.msg or "language:" in outcome.msg, outcome.msg
    assert site.writes() == []


def test_an_ansible_lookup_in_a_mapping_is_refused_through_the_playbook(start_sandbox, tmp_path):
    site = start_sandbox(branch.scenario())
    run = sync_run(site, tmp_path, check=False, coconut_staff_mapping={"language": "lookup('env', 'HOME')"})
    assert run.rc != 0
    assert "coconut_staff_mapping.language: lookup is not defined" in run.output and "only `user`" in run.output
    assert site.writes() == []


def test_entra_values_are_data_never_templates(start_sandbox, tmp_path):
    scenario = branch.scenario()
    linus = scenario["entra"]["users"][4]
    hostile = "{{ lookup('pipe', 'id') }}"
    linus.update(givenName=hostile, jobTitle="{% for x in range(3) %}x{% endfor %}", displayName=hostile + " Pauling")
    site = start_sandbox(scenario)
    run = sync_run(site, tmp_path, check=False)
    assert run.rc == 0, run.output
    staff = [s for s in site.state()["coconut"]["users"] if (s.get("integration") or {}).get("object_id") == branch.oid("linus")]
    assert [(s["first_name"], s["job_title"]) for s in staff] == [(hostile, "{% for x in range(3) %}x{% endfor %}")]
    assert "uid=0" not in run.output


def test_the_html_report_escapes_hostile_names_end_to_end(start_sandbox, tmp_path):
    scenario = branch.scenario()
    hostile = "<script>alert('ada')</script>"
    scenario["entra"]["users"][4].update(givenName=hostile, jobTitle='"><img src=x onerror=alert(1)>',
                                         displayName="</script><script>alert(2)</script>")
    site = start_sandbox(scenario)
    report = tmp_path / "report.html"
    run = sync_run(site, tmp_path, check=True, coconut_sync_report=str(report))
    assert run.rc == 0, run.output
    html = report.read_text()
    for raw in (hostile, "<img src=x", "</script><script>alert(2)"):
        assert raw not in html, "unescaped %r in the report" % raw
    assert html.count("<script") == 2, "only the report's own two script elements"
    data = json.loads(report.with_suffix(".json").read_text())
    assert hostile in json.dumps(data, ensure_ascii=False), "the JSON keeps the value as data"


# ---- credentials files -----------------------------------------------------------------------

def test_credentials_file_is_written_0600_and_atomically(tmp_path):
    path = tmp_path / "credentials.yml"
    path.write_text("# kept\nentra_client_secret: old-secret\ncoconut_api_token: old-token\n")
    path.chmod(0o644)
    inode = path.stat().st_ino
    playbook = tmp_path / "write.yml"
    playbook.write_text(yaml.safe_dump([{
        "hosts": "localhost", "gather_facts": False, "connection": "local",
        "tasks": [{"name": "Write", "coconut.entra.credentials_file": {
            "path": str(path), "values": {"entra_client_secret": "new-secret-value", "coconut_api_token": "new-token-value"}},
            "no_log": True}],
    }]))
    proc = subprocess.run([str(VENV_BIN / "ansible-playbook"), str(playbook), "-vvvv"], cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, ANSIBLE_NOCOLOR="1"), preexec_fn=lambda: os.umask(0), check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600, "0600 even from a 0644 file under umask 000"
    assert path.stat().st_ino != inode, "replaced by rename, not rewritten in place"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["credentials.yml", "write.yml"], "no temporary file left behind"
    assert yaml.safe_load(path.read_text()) == {"entra_client_secret": "new-secret-value", "coconut_api_token": "new-token-value"}
    assert path.read_text().startswith("# kept\n")
    for value in ("new-secret-value", "new-token-value", "old-secret", "old-token"):
        assert value not in proc.stdout + proc.stderr
