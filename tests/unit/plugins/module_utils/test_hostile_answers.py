"""Hostile or broken answers (issue 18): what they can make the clients read is bounded (a paging link that loops,
a delta round that never ends, a Coconut page 1 that claims a hundred million pages), and a sign-in discovery
document cannot send the credential to another host."""

from __future__ import annotations

import pytest
from test_entra import SECRET, STAFF_GROUP, TENANT, entra, scenario  # noqa: F401 - scenario() is what module_sandbox starts

from ansible_collections.coconut.entra.plugins.module_utils import entra as entra_module
from ansible_collections.coconut.entra.plugins.module_utils.coconut import CoconutClient
from ansible_collections.coconut.entra.plugins.module_utils.entra import DeltaExpired
from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError

COCONUT_TOKEN = "coconut-token"


@pytest.fixture
def sandbox(module_sandbox):
    module_sandbox.reset(scenario(users=3))
    return module_sandbox


def coconut(sandbox, **overrides):
    options = dict(url=sandbox.vars["coconut_url"], api_token=COCONUT_TOKEN, ca_path=sandbox.ca_path, sleep=[].append)
    options.update(overrides)
    return CoconutClient(**options)


def graph_gets(sandbox):
    return sandbox.requests("graph", "GET")


def looping_page(sandbox, path, link_query="$skiptoken=loop", **extra):
    """A fault answering every matching request with one user and a nextLink to the same URL."""
    link = "{}/v1.0/{}?{}".format(sandbox.vars["entra_graph_url"], path, link_query)
    body = {"value": [{"id": "00000000-0000-4000-8000-000000000001", "displayName": "Loop", "accountEnabled": True}],
            "@odata.nextLink": link}
    body.update(extra)
    return {"service": "graph", "method": "GET", "path": path.replace("$", "\\$"), "status": 200, "body": body, "times": 1000}


def test_a_members_page_linking_to_itself_fails_with_one_line_after_two_pages(sandbox):
    client = entra(sandbox)
    client.token()
    path = f"groups/{STAFF_GROUP}/members/microsoft.graph.user"
    sandbox.faults([looping_page(sandbox, path)])
    sandbox.clear_requests()
    with pytest.raises(CoconutEntraError) as failure:
        client.group_members(STAFF_GROUP)
    assert "the same @odata.nextLink twice" in failure.value.msg and "\n" not in failure.value.msg
    assert len(graph_gets(sandbox)) <= 3


def test_a_delta_round_linking_to_itself_fails_instead_of_growing_forever(sandbox):
    client = entra(sandbox)
    link = client.latest_delta_link(group_id=STAFF_GROUP)
    sandbox.faults([looping_page(sandbox, "groups/delta", "$skiptoken=loop")])
    sandbox.clear_requests()
    with pytest.raises(CoconutEntraError, match="the same @odata.nextLink twice"):
        client.delta_changes(link, "reading the membership changes of Entra group x")
    assert len(graph_gets(sandbox)) <= 3


def test_a_delta_round_with_more_items_than_the_bound_asks_for_a_full_read(sandbox, monkeypatch):
    client = entra(sandbox)
    link = client.latest_delta_link(group_id=STAFF_GROUP)
    monkeypatch.setattr(entra_module, "DELTA_ITEM_LIMIT", 1)
    pages = [{"service": "graph", "method": "GET", "path": "groups/delta", "status": 200, "times": 1,
              "body": {"value": [{"id": f"g{n}"}, {"id": f"h{n}"}],
                       "@odata.nextLink": "{}/v1.0/groups/delta?$skiptoken=p{}".format(sandbox.vars["entra_graph_url"], n)},
              "after": 0} for n in range(3)]
    sandbox.faults(pages)
    with pytest.raises(DeltaExpired) as failure:
        client.delta_changes(link, "reading the membership changes of Entra group x")
    assert failure.value.details.get("too_many") is True
    assert "a full read is needed" in failure.value.msg


def test_a_coconut_page_count_that_does_not_fit_the_total_is_refused_after_page_one(sandbox):
    sandbox.faults([{"service": "coconut", "method": "GET", "path": "/api/v2/users", "status": 200, "times": 1000,
                     "body": {"data": [], "meta": {"pagination": {"total": 3, "count": 3, "per_page": 500, "current_page": 1,
                                                                  "total_pages": 100000000}}}}])
    sandbox.clear_requests()
    with pytest.raises(CoconutEntraError) as failure:
        coconut(sandbox).list_staff()
    assert "claims 100000000 pages for 3 records at 500 per page" in failure.value.msg
    assert len(sandbox.requests("coconut")) == 1


def test_coconut_pages_are_read_a_few_at_a_time_and_stop_at_the_first_empty_one(sandbox):
    # Page 1 claims 50,000 records (100 pages of 500, consistent); the site really has 3, so page 2 is empty.
    first = {"data": [{"type": "users", "id": "101", "attributes": {"first_name": "A"}}],
             "meta": {"pagination": {"total": 50000, "count": 1, "per_page": 500, "current_page": 1, "total_pages": 100}}}
    sandbox.faults([{"service": "coconut", "method": "GET", "path": r"page=1(&|$)", "status": 200, "times": 1, "body": first}])
    sandbox.clear_requests()
    client = coconut(sandbox, concurrency=4)
    assert [s["id"] for s in client.list_staff()] == ["101"]
    assert len(sandbox.requests("coconut")) <= 1 + 4 + 4, "pages were queued up front"


# ---- finding 4: the sign-in discovery document names the authority host, or nothing is sent ---------------

def discovery(sandbox, **overrides):
    login = sandbox.vars["entra_authority_host"]
    document = {"authorization_endpoint": f"{login}/{TENANT}/oauth2/v2.0/authorize",
                "token_endpoint": f"{login}/{TENANT}/oauth2/v2.0/token", "issuer": f"{login}/{TENANT}/v2.0"}
    document.update(overrides)
    return {"service": "login", "method": "GET", "path": "openid-configuration", "status": 200, "body": document, "times": 10}


def test_a_token_endpoint_on_another_host_never_receives_the_secret(sandbox):
    # Another host the client trusts (same CA): the sandbox's Coconut listener records whatever reaches it.
    elsewhere = sandbox.vars["coconut_url"] + f"/{TENANT}/oauth2/v2.0/token"
    sandbox.faults([discovery(sandbox, token_endpoint=elsewhere)])
    sandbox.clear_requests()
    with pytest.raises(CoconutEntraError) as failure:
        entra(sandbox).token()
    assert "refusing to sign in" in failure.value.msg and "token endpoint" in failure.value.msg
    assert SECRET not in failure.value.msg
    assert [r for r in sandbox.requests() if r["service"] != "login"] == [], "the credential went to another host"
    assert not sandbox.requests("login", "POST")


def test_an_issuer_on_another_host_is_refused_before_any_post(sandbox):
    sandbox.faults([discovery(sandbox, issuer="https://login.evil.example/%s/v2.0" % TENANT)])
    sandbox.clear_requests()
    with pytest.raises(CoconutEntraError, match="the issuer"):
        entra(sandbox).token()
    assert not sandbox.requests("login", "POST")


def test_the_sandbox_discovery_document_passes_the_check(sandbox):
    sandbox.faults([discovery(sandbox)])
    assert entra(sandbox).token()
