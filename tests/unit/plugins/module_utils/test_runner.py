"""The insecure-TLS warning has one text, in runner.py, and every module gives it through run_guarded."""

from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.coconut.entra.plugins.module_utils import runner


class Module:
    def __init__(self, **params):
        self.params = params
        self.warnings = []

    def warn(self, text):
        self.warnings.append(text)


@pytest.mark.parametrize("validate_certs, warnings", [(False, [runner.INSECURE_WARNING]), (True, []), (None, [])])
def test_run_guarded_warns_once_when_certificates_are_not_verified(validate_certs, warnings):
    module = Module(validate_certs=validate_certs)
    assert runner.run_guarded(module, lambda: {"changed": False}, libraries=()) == {"changed": False}
    assert module.warnings == warnings


def test_the_warning_text_is_written_once():
    root = Path(runner.__file__).parents[2]
    holders = [str(path.relative_to(root)) for path in sorted(root.glob("plugins/**/*.py")) + sorted(root.glob("extensions/**/*.py"))
               if "NOT verified" in path.read_text()]
    assert holders == ["plugins/module_utils/runner.py"]
