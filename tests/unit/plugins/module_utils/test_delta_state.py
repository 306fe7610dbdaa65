"""The delta state's integrity (issue 18, finding 1): signed with a key only the Entra credential gives, links
limited to the sync's own delta queries on the configured Graph host."""

from __future__ import annotations

import pytest
import trustme

from ansible_collections.coconut.entra.plugins.module_utils import delta
from ansible_collections.coconut.entra.plugins.module_utils.entra import EntraClient

TENANT = "0b8a3d8e-1111-4a4a-8b8b-000000000001"
APP_ID = "3c1e0000-2222-4a4a-8b8b-000000000002"
GROUP = "5e6f0000-5555-4a4a-8b8b-000000000005"
GRAPH = "https://graph.example"
CERT = trustme.CA().issue_cert("coconut-sync.example", key_type=trustme.KeyType.RSA)


def client(**credential):
    credential = credential or {"client_secret": "secret-one"}
    return EntraClient(TENANT, APP_ID, authority_host="https://login.example", graph_url=GRAPH, **credential)


def state(**changes):
    value = delta.new_state("fp", [GROUP], {GROUP: f"{GRAPH}/v1.0/groups/delta?$deltatoken=abc"},
                            f"{GRAPH}/v1.0/users/delta?$deltatoken=def", {GROUP: ["u1", "u2"]}, [])
    value.update(changes)
    return value


def test_the_key_comes_from_the_credential_and_changes_with_it():
    one = client().state_key("delta state")
    assert len(one) == 32 and one == client().state_key("delta state")
    assert one != client(client_secret="secret-two").state_key("delta state"), "a rotated secret must give another key"
    assert one != client().state_key("something else")
    certificate = dict(client_certificate=CERT.cert_chain_pems[0].bytes().decode(),
                       client_private_key=CERT.private_key_pem.bytes().decode())
    assert client(**certificate).state_key("delta state") not in (one, b"")


def test_a_signed_state_verifies_and_any_edit_breaks_it():
    key = client().state_key("delta state")
    signed = delta.sign(state(), key)
    assert delta.usable(signed, "fp", [GROUP], key=key, graph_url=GRAPH) is None
    edited = dict(signed, members={GROUP: ["u1", "u2", "intruder"]})
    assert "not trusted" in delta.usable(edited, "fp", [GROUP], key=key, graph_url=GRAPH)
    assert "not trusted" in delta.usable(state(), "fp", [GROUP], key=key, graph_url=GRAPH), "an unsigned state"
    other_key = client(client_secret="rotated").state_key("delta state")
    assert "rotate_token.yml" in delta.usable(signed, "fp", [GROUP], key=other_key, graph_url=GRAPH)


@pytest.mark.parametrize("links", [
    {"users_link": f"{GRAPH}/v1.0/users?$filter=id eq 'x'"},
    {"users_link": "https://graph.evil.example/v1.0/users/delta?$deltatoken=x"},
    {"users_link": "http://graph.example/v1.0/users/delta?$deltatoken=x"},
    {"links": {GROUP: f"{GRAPH}/v1.0/groups/{GROUP}/members"}},
    {"links": {GROUP: f"{GRAPH}/v1.0/users/delta"}},
    {"users_link": None},
], ids=["another-query", "another-host", "http", "members-listing", "users-for-group", "missing"])
def test_links_other_than_the_syncs_own_delta_queries_are_refused_even_when_signed(links):
    key = client().state_key("delta state")
    signed = delta.sign(state(**links), key)
    reason = delta.usable(signed, "fp", [GROUP], key=key, graph_url=GRAPH)
    assert reason and ("not trusted" in reason or "does not cover" in reason)
