# The front door: `make demo` and `make test` set up everything they need on a fresh machine
# with Python 3.11 (see README.md). Every target runs from the repository root.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(abspath $(VENV))/bin
STAMP := $(VENV)/.installed
# One venv per ansible-core/Python pair of the matrix (tests/matrix/venvs.py), made once and reused.
MATRIX_VENVS := .venv-matrix
# The tools the recipes call (ansible-playbook, ansible-test, ...) come from the venv.
export PATH := $(BIN):$(PATH)

# ansible-test wants the collection under ansible_collections/<namespace>/<name>, as collection CI lays it out.
SANITY_ROOT := build/ansible_collections/coconut/entra
# ansible-test sanity runs on the main .venv's ansible-core (2.19) and on the newest one: a pair of
# tests/matrix/venvs.py, ansible-core/Python.
SANITY_NEWEST := 2.21/3.13
SANITY_NEWEST_PYTHON := $(lastword $(subst /, ,$(SANITY_NEWEST)))
PYTEST_WORKERS ?= 2

.PHONY: help venv lint sanity unit integration matrix test soak demo demo-live bench changelog-lint build clean distclean docs docs-lint

help:
	@echo "make demo         start the sandbox, preview and apply a sync of a demo bank branch, show the outcome"
	@echo "make demo-live    continuous sync: the sandbox and the rulebook running; a few Entra changes reach Coconut, with their latency"
	@echo "make test         everything: lint, ansible-test sanity, unit, sandbox, integration, rulebook and matrix tests"
	@echo "make venv         create or refresh .venv (only when requirements*.txt change)"
	@echo "make lint         ruff and ansible-lint"
	@echo "make sanity       ansible-test sanity on a copy of the tree under $(SANITY_ROOT)"
	@echo "make unit         unit and sandbox tests"
	@echo "make integration  playbook tests against the sandbox"
	@echo "make matrix       the playbooks on every supported ansible-core/Python pair (tests/matrix)"
	@echo "make soak         50 syncs with random churn and injected faults, converged after each (SOAK_ARGS=--seed N)"
	@echo "make bench        benchmarks"
	@echo "make build        build the collection tarball into build/"
	@echo "make docs         the collection's HTML docs site (antsibull-docs + Sphinx) into build/docs/html"
	@echo "make docs-lint    antsibull-docs lint of the module and plugin docs (part of make test)"
	@echo "make clean        remove build output and caches (keeps .venv); distclean removes .venv too"

venv: $(STAMP)

# Re-installs only when a requirements file is newer than the stamp.
$(STAMP): requirements.txt requirements-test.txt
	@test -n "$(PYTHON)" || { echo "Python 3.11 is needed (python3.11 or python3 on PATH)"; exit 1; }
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-test.txt
	@touch $@

lint: venv
	ruff check .
	ansible-lint

changelog-lint: venv
	antsibull-changelog lint

# Offline: a stand-in replaces the get-pip.py ansible-test would download (tests/sanity/get_pip_standin.py).
sanity: venv
	rm -rf $(SANITY_ROOT)
	mkdir -p $(SANITY_ROOT)
	git ls-files -z --cached --others --exclude-standard \
	  | grep -zv '^\.collections/' \
	  | tar --null --files-from=- --ignore-failed-read -cf - \
	  | tar -xf - -C $(SANITY_ROOT)
	# ansible-test lists files through git; without a repository of its own the copy would
	# inherit this one, where build/ is ignored, and every target would be skipped.
	git -C $(SANITY_ROOT) init --quiet && git -C $(SANITY_ROOT) add --all
	python tests/sanity/get_pip_standin.py --install
	cd $(SANITY_ROOT) && ansible-test sanity --python 3.11 --color no $(SANITY_ARGS)
	# Again with the newest ansible-core, whose checks are newer, from its matrix venv (made once, reused).
	newest=$$(python tests/matrix/venvs.py --bin $(SANITY_NEWEST)) \
	  && "$$newest/python" tests/sanity/get_pip_standin.py --install \
	  && cd $(SANITY_ROOT) && "$$newest/ansible-test" sanity --python $(SANITY_NEWEST_PYTHON) --color no $(SANITY_ARGS)

unit: venv
	python -m pytest -n $(PYTEST_WORKERS) tests/unit tests/sandbox

integration: venv
	python -m pytest -n $(PYTEST_WORKERS) tests/integration

# make test collects tests/matrix too; its tests make a missing venv themselves.
matrix: venv
	python tests/matrix/venvs.py
	python -m pytest -n $(PYTEST_WORKERS) tests/matrix

# pytest exits 5 when it collects no tests; make treats that as the failure it is.
test: venv lint changelog-lint docs-lint sanity
	python -m pytest -n $(PYTEST_WORKERS) --durations=20 tests

soak: venv
	python tests/soak.py --iterations 50 $(SOAK_ARGS)

demo: venv
	python tests/demo.py

# ansible-rulebook needs Java 17 (.ci/run installs Debian's openjdk-17-jre-headless through .ci/debian-package.sh).
demo-live: venv
	python tests/demo_live.py

# The peers it compares with (msgraph-sdk) are test-only: tests/bench/requirements.txt, never the collection's.
bench: venv
	python -m pip install --quiet --disable-pip-version-check -r tests/bench/requirements.txt
	python tests/bench/run.py $(BENCH_ARGS)
	python tests/bench/many_sites.py $(BENCH_SITES_ARGS)

build: venv
	ansible-galaxy collection build --force --output-path build .

# What docs.ansible.com checks on a collection: every M(), O(), RV() and link in the plugin docs resolves.
docs-lint: venv
	antsibull-docs lint-collection-docs --plugin-docs .

# The collection is found through ansible.cfg's collections_path (.collections links to this checkout).
# antsibull-docs wants its directories readable by the owner only.
DOCS := build/docs
docs: venv
	rm -rf $(DOCS)
	mkdir -p -m 700 $(DOCS) $(DOCS)/src $(DOCS)/src/rst
	antsibull-docs sphinx-init --use-current --dest-dir $(DOCS)/src coconut.entra
	cat docs/docsite/conf_offline.py >> $(DOCS)/src/conf.py
	antsibull-docs --config-file $(DOCS)/src/antsibull-docs.cfg collection --cleanup everything \
	  --use-current --dest-dir $(DOCS)/src/rst coconut.entra
	# The extra docs' one sources, put beside the pages that include them (docs/docsite/rst).
	for page in $$(find $(DOCS)/src/rst -name getting-started.rst); do dir=$$(dirname $$page); \
	  cp docs/getting-started.md $$dir/getting-started.md.txt; cp -r playbooks extensions/eda/rulebooks $$dir/; done
	sphinx-build -b html -c $(DOCS)/src -W --keep-going $(DOCS)/src/rst $(DOCS)/html
	@echo "docs site: $(DOCS)/html/index.html"

clean:
	rm -rf build tests/output .pytest_cache .ruff_cache .hypothesis artifacts coconut-entra-*.tar.gz
	find . \( -path ./$(VENV) -o -path ./$(MATRIX_VENVS) \) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) $(MATRIX_VENVS)
