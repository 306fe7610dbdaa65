"""What is declared is tested and what is tested is declared: requirements.txt, meta/runtime.yml, the README,
the execution environment files, the Makefile's newest sanity run and the matrix's pairs name one range."""

from __future__ import annotations

import re

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from .venvs import NEWEST, PAIRS, ROOT

# Every ansible-core minor release a declaration could plausibly name, old and future.
CANDIDATES = ["2.%d" % minor for minor in range(9, 40)]


def admitted(specifier):
    """The minor releases a specifier admits (each one's .0 release)."""
    return [minor for minor in CANDIDATES if specifier.contains(minor + ".0")]


def requirement_lines(path):
    lines = [line.split("#")[0].strip() for line in (ROOT / path).read_text().splitlines()]
    return [line for line in lines if line]


def requirements(path):
    return [Requirement(line) for line in requirement_lines(path)]


def core_line():
    """The ansible-core line of requirements.txt, as written: 'ansible-core>=2.16,<2.22'."""
    (line,) = [line for line in requirement_lines("requirements.txt") if Requirement(line).name == "ansible-core"]
    return line


def core_requirement():
    return Requirement(core_line())


def test_requirements_and_runtime_yml_declare_the_same_ansible_core_releases():
    runtime = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())
    declared = admitted(core_requirement().specifier)
    assert declared == admitted(SpecifierSet(runtime["requires_ansible"])), (declared, runtime["requires_ansible"])


def test_every_declared_release_is_a_pair_of_the_matrix_and_no_other():
    declared = admitted(core_requirement().specifier)
    assert sorted({p.core for p in PAIRS}, key=lambda v: int(v.split(".")[1])) == declared
    assert NEWEST.core == declared[-1] and NEWEST.python == max((p.python for p in PAIRS), key=lambda v: int(v.split(".")[1]))


def test_the_readme_lists_the_range_and_every_pair():
    readme = (ROOT / "README.md").read_text()
    declared = admitted(core_requirement().specifier)
    section = readme.split("## Supported ansible-core and Python", 1)[1].split("\n## ", 1)[0]
    assert f"ansible-core **{declared[0]} to {declared[-1]}**" in section
    assert core_line() in section and yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())["requires_ansible"] in section
    rows = re.findall(r"^\| (2\.\d+) \| (3\.\d+) \|", section, re.M)
    assert rows == [(p.core, p.python) for p in PAIRS]


def test_the_execution_environment_files_agree_with_requirements_txt():
    runtime = [str(r) for r in requirements("requirements.txt") if r.name != "ansible-core"]
    assert [str(r) for r in requirements("meta/ee-requirements.txt")] == runtime
    ee = (ROOT / "meta" / "execution-environment.yml").read_text()
    declared = admitted(core_requirement().specifier)
    assert f"ansible-core {declared[0]} to {declared[-1]}" in ee and core_line() in ee


def test_make_sanity_runs_on_the_newest_pair():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^SANITY_NEWEST := (\S+)$", makefile, re.M).group(1) == f"{NEWEST.core}/{NEWEST.python}"
