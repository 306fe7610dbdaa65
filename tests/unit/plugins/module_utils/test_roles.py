"""Role codes have one home (module_utils/roles.py): the staff module's choices and docs, entra_groups validation and
the report's labels all follow it."""

from __future__ import annotations

import re

import pytest
import yaml

from ansible_collections.coconut.entra.plugins.module_utils import roles, staff_view
from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.sync import parse_groups
from ansible_collections.coconut.entra.plugins.modules import staff


def test_the_staff_module_documents_every_code_with_its_name_and_no_other():
    role = yaml.safe_load(staff.DOCUMENTATION)["options"]["role"]
    assert role["choices"] == list(roles.ROLE_CODES)
    listed = dict((int(code), name) for code, name in re.findall(r"(\d+) ([A-Z][a-z]+(?: [A-Z][a-z]+)?)", role["description"]))
    assert listed == roles.ROLE_NAMES


@pytest.mark.parametrize("code", roles.ROLE_CODES)
def test_every_code_is_accepted_in_entra_groups_and_labelled_in_the_report(code):
    [group] = parse_groups([{"group": "Tellers", "role": code}])
    assert group["role"] == code
    assert staff_view.role_label(code) == f"{roles.ROLE_NAMES[code]} ({code})"


def test_a_code_not_in_the_list_is_refused_with_the_list():
    with pytest.raises(CoconutEntraError, match=r"role 11 is not a Coconut role code; use one of 5 \(Contact Centre\), 10 \(Staff\)"):
        parse_groups([{"group": "Tellers", "role": 11}])
