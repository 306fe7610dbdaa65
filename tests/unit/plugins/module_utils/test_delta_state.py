"""The delta state's integrity (issue 18, finding 1): signed with a key only the Entra credential gives, links
limited to the sync's own delta queries on the configured Graph host."""

from __future__ import annotations

import pytest
import trustme

from ansible_collections.coconut.entra.plugins.module_utils import delta, files
from ansible_collections.coconut.entra.plugins.module_utils.entra import EntraClient
from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError

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


# ---- when a stored state may drive a delta run ------------------------------------------------------


def test_a_state_is_usable_only_for_the_same_fingerprint_and_groups():
    key = client().state_key("delta state")
    signed = delta.sign(state(), key)
    assert delta.usable(None, "fp", [GROUP]) == "no delta state yet"
    assert "unknown format" in delta.usable(dict(signed, version=99), "fp", [GROUP])
    assert "mapping or plan options changed" in delta.usable(signed, "another fp", [GROUP], key=key, graph_url=GRAPH)
    assert "does not cover" in delta.usable(signed, "fp", [GROUP, "another group"], key=key, graph_url=GRAPH)


def test_the_fingerprint_is_stable_and_follows_every_part():
    assert delta.fingerprint(site="a", groups=["g"]) == delta.fingerprint(groups=["g"], site="a")
    assert delta.fingerprint(site="a", groups=["g"]) != delta.fingerprint(site="a", groups=["g", "h"])


def test_member_changes_keep_the_last_word_and_skip_nested_groups():
    items = [{"members@delta": [{"id": "u1"}, {"id": "u2"}, {"id": "g9", "@odata.type": "#microsoft.graph.group"}]},
             {"members@delta": [{"id": "u1", "@removed": {"reason": "deleted"}}, {"id": "u3", "@removed": {}}]},
             {"members@delta": [{"id": "u3"}]}]
    assert delta.member_changes(items) == ({"u2", "u3"}, {"u1"})


def test_user_changes_tell_deleted_users_apart():
    items = [{"id": "u1", "displayName": "Ana"}, {"id": "u2", "@removed": {"reason": "changed"}}, {"displayName": "no id"}]
    assert delta.user_changes(items) == ({"u1", "u2"}, {"u2"})


# ---- where the state is kept ------------------------------------------------------------------------


def test_a_file_state_saves_and_loads_and_a_missing_file_means_none(tmp_path):
    store = delta.store_for(str(tmp_path / "state" / "delta.json"), coconut=None)
    assert isinstance(store, delta.FileStore) and store.load() is None
    signed = delta.sign(state(), b"k" * 32)
    store.save(signed)
    assert store.load() == signed
    assert oct((tmp_path / "state" / "delta.json").stat().st_mode & 0o777) == "0o600"


def test_a_failed_save_leaves_the_old_state_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "delta.json"
    store = delta.FileStore(str(path))
    store.save({"version": 1, "old": True})

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "replace", full_disk)
    with pytest.raises(CoconutEntraError) as caught:
        store.save({"version": 1, "old": False})
    assert "could not be written to %s" % path in caught.value.msg and "the next run will be a full one" in caught.value.msg
    assert store.load() == {"version": 1, "old": True}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["delta.json"]


def test_an_unreadable_file_state_names_the_file_and_the_fix(tmp_path):
    path = tmp_path / "delta.json"
    path.write_text("{not json")
    with pytest.raises(CoconutEntraError) as caught:
        delta.FileStore(str(path)).load()
    assert str(path) in caught.value.msg and "delete it to start again with a full run" in caught.value.msg


class Record:
    def __init__(self, record):
        self.record = record
        self.updates = []

    def get_integration(self):
        return self.record

    def update_integration(self, change):
        self.updates.append(change)
        self.record = dict(self.record, **change)
        return self.record


def test_a_coconut_state_writes_only_its_own_key_of_the_integration_record():
    coconut = Record({"status": "connected", "lease": {"holder": "me"}})
    store = delta.store_for("coconut", coconut)
    assert store.load() is None
    store.save({"version": 1})
    assert coconut.updates == [{"delta_state": {"version": 1}}]
    assert coconut.record["lease"] == {"holder": "me"} and store.load() == {"version": 1}


def test_a_coconut_state_without_an_integration_record_says_to_connect_first():
    with pytest.raises(CoconutEntraError, match="run connect.yml first"):
        delta.store_for("coconut", Record(None)).load()
