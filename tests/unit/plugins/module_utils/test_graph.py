"""Graph's names have one home (module_utils/graph.py): the user properties read and the application permissions
needed. The client, the mapping, and the modules' specs and docs follow it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import yaml

from ansible_collections.coconut.entra.plugins.module_utils import entra, graph, mapping
from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.modules import entra_app_secret, entra_group_info, integration


def test_entra_group_info_documents_the_default_user_fields():
    select = yaml.safe_load(entra_group_info.DOCUMENTATION)["options"]["select"]
    assert select["default"] == list(graph.DEFAULT_USER_FIELDS)


@pytest.mark.parametrize("module, option", [(integration, "permissions"), (entra_app_secret, "prove_permissions")])
def test_modules_that_prove_permissions_document_the_provable_ones_and_default_to_the_sync_s(module, option):
    doc = yaml.safe_load(module.DOCUMENTATION)["options"][option]
    assert doc["choices"] == list(graph.PROVABLE_PERMISSIONS)
    assert doc["default"] == list(graph.SYNC_PERMISSIONS)


def test_every_read_selects_the_required_user_fields_first():
    assert entra.EntraClient._user_fields(["mail", "id"]) == [*graph.REQUIRED_USER_FIELDS, "mail"]
    assert entra.EntraClient._user_fields(None)[:len(graph.REQUIRED_USER_FIELDS)] == list(graph.REQUIRED_USER_FIELDS)
    assert set(entra.EntraClient._user_fields(None)) == set(graph.DEFAULT_USER_FIELDS)


def test_the_mapping_always_selects_the_required_fields_and_the_default_mapping_no_field_beyond_the_default():
    select = set(mapping.Mapping({}).graph_select)
    assert set(graph.REQUIRED_USER_FIELDS) <= select <= set(graph.DEFAULT_USER_FIELDS)
    assert set(graph.DEFAULT_USER_FIELDS) <= set(mapping.Mapping({"username": "user | tojson"}).graph_select)


@pytest.mark.parametrize("name", graph.PROVABLE_PERMISSIONS)
def test_the_client_can_prove_every_provable_permission(name):
    seen = []
    fake = SimpleNamespace(get=lambda path, params, permission, what: seen.append((path, permission, what)),
                           get_application=lambda: seen.append(("application", graph.PERMISSION_APPLICATION, None)))
    assert entra.EntraClient.check_permission(fake, name) is True
    assert len(seen) == 1 and name in seen[0][1]


def test_the_client_names_the_provable_permissions_when_asked_for_another():
    with pytest.raises(CoconutEntraError, match="known are " + ", ".join(graph.PROVABLE_PERMISSIONS).replace(".", r"\.") + "$"):
        entra.EntraClient.check_permission(SimpleNamespace(), "Mail.Send")
