"""`ansible-doc coconut.entra.<module>` is complete for every module: it renders, every option and return value says
what it is, and the EXAMPLES are YAML tasks that name modules by FQCN and use only options the module has."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import yaml

from .playbook import ROOT, VENV_BIN

pytestmark = pytest.mark.integration

MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
TASK_KEYWORDS = {"name", "register", "when", "loop", "loop_control", "vars", "tags", "no_log", "check_mode", "diff",
                 "delegate_to", "run_once", "become", "changed_when", "failed_when", "ignore_errors", "until", "retries",
                 "delay", "environment", "module_defaults", "notify", "args", "with_items", "any_errors_fatal"}
CONNECTION_FRAGMENT_OPTIONS = {"entra_tenant_id", "entra_client_id", "entra_client_secret", "coconut_url", "coconut_api_token"}


@pytest.fixture(scope="module")
def docs():
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([str(VENV_BIN / "ansible-doc"), "--json"] + ["coconut.entra." + m for m in MODULES],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "WARNING" not in proc.stderr and "ERROR" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout)


def test_every_module_renders_as_text():
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"), ANSIBLE_NOCOLOR="1", PAGER="cat")
    proc = subprocess.run([str(VENV_BIN / "ansible-doc")] + ["coconut.entra." + m for m in MODULES], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "[ERROR]" not in proc.stderr and "WARNING" not in proc.stderr, proc.stderr
    for module in MODULES:
        assert "coconut.entra.%s" % module in proc.stdout
    assert proc.stdout.count("EXAMPLES:") == len(MODULES)
    assert proc.stdout.count("RETURN VALUES:") == len(MODULES)


def undescribed(entries, where):
    """Paths of options / return values (and their sub-entries) with no description."""
    missing = []
    for name, entry in (entries or {}).items():
        path = "%s.%s" % (where, name)
        description = entry.get("description")
        if not description or (isinstance(description, list) and not any(str(d).strip() for d in description)):
            missing.append(path)
        for sub in ("suboptions", "contains"):
            missing += undescribed(entry.get(sub), path)
    return missing


@pytest.mark.parametrize("module", MODULES)
def test_every_option_and_return_value_is_described(docs, module):
    page = docs["coconut.entra." + module]
    doc = page["doc"]
    assert doc.get("short_description") and doc.get("description"), module
    assert doc.get("options"), module
    assert undescribed(doc["options"], "options") == []
    assert page.get("return"), "%s has no RETURN" % module
    assert undescribed(page["return"], "return") == []
    for attribute in ("check_mode", "diff_mode"):
        assert attribute in doc.get("attributes", {}), "%s does not say whether it supports %s" % (module, attribute)


def tasks_of(items):
    for item in items or []:
        assert isinstance(item, dict), item
        blocks = [k for k in ("block", "rescue", "always") if k in item]
        if blocks:
            for key in blocks:
                yield from tasks_of(item[key])
        else:
            yield item


@pytest.mark.parametrize("module", MODULES)
def test_examples_are_tasks_with_fqcn_modules_and_real_options(docs, module):
    page = docs["coconut.entra." + module]
    examples = yaml.safe_load(page["examples"])
    assert isinstance(examples, list) and examples, module
    used = set()
    for task in tasks_of(examples):
        actions = [k for k in task if k not in TASK_KEYWORDS]
        assert len(actions) == 1, "task %r: one module per task, got %s" % (task.get("name"), actions)
        (action,) = actions
        assert action.count(".") == 2, "example task %r names its module %r, not by FQCN" % (task.get("name"), action)
        assert task.get("name"), "example task without a name in %s" % module
        used.add(action)
        if action.startswith("coconut.entra."):
            options = set(docs[action]["doc"]["options"])
            args = task[action] or {}
            assert isinstance(args, dict), "%s: free-form arguments in an example" % action
            assert set(args) <= options, "%s example uses unknown options %s" % (action, set(args) - options)
        for defaults in (task.get("module_defaults") or {}).values():
            assert set(defaults) <= set(page["doc"]["options"]) | CONNECTION_FRAGMENT_OPTIONS
    assert "coconut.entra." + module in used, "no example of %s itself" % module


def test_staff_sync_example_matches_the_playbook_variables(docs):
    """The staff_sync example's groups have the shape sync.yml's entra_groups takes (parsed by the module's own code)."""
    from ansible_collections.coconut.entra.plugins.module_utils.sync import parse_groups

    examples = yaml.safe_load(docs["coconut.entra.staff_sync"]["examples"])
    for task in tasks_of(examples):
        args = task.get("coconut.entra.staff_sync")
        if args:
            assert parse_groups(args["groups"])


INFO_MODULES = [m for m in MODULES if m.endswith("_info")]
CONNECTION = ("entra_tenant_id", "entra_client_id", "entra_client_secret", "entra_authority_host", "entra_graph_url",
              "coconut_url", "coconut_api_token", "ca_path")


def test_info_module_examples_run_against_the_sandbox(docs, start_sandbox, tmp_path):
    """The read-only examples, as written, with only their connection options pointed at the sandbox."""
    from . import branch
    from .playbook import run_playbook

    site = start_sandbox(branch.scenario())
    tasks = []
    for module in INFO_MODULES:
        for task in tasks_of(yaml.safe_load(docs["coconut.entra." + module]["examples"])):
            action = next(k for k in task if k not in TASK_KEYWORDS)
            if action.startswith("coconut.entra."):
                task[action] = {k: v for k, v in task[action].items() if k not in CONNECTION}
                task[action].update({k: "{{ %s }}" % k for k in CONNECTION if k in docs[action]["doc"]["options"]})
            tasks.append(task)
    playbook = tmp_path / "examples.yml"
    playbook.write_text(yaml.safe_dump([{"name": "Info module examples", "hosts": "localhost", "gather_facts": False,
                                         "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
                                         "tasks": tasks}], sort_keys=False))
    vars_file = tmp_path / "sandbox-vars.yml"
    vars_file.write_text(yaml.safe_dump(site.vars))
    result = run_playbook(playbook, tmp_path, vars_files=[vars_file])
    assert result.rc == 0, result.output
    assert len([r for r in result.results if r["task"] in {t["name"] for t in tasks}]) == len(tasks)
    assert "Coconut - Tellers has 5 users" in result.stdout
    assert [r for r in site.requests() if r["method"] != "GET" and r["service"] != "login"] == [], "an info example wrote"
