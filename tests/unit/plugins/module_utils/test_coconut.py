"""CoconutClient against the sandbox: paging, staff writes (single and bulk), groups, integration,
API tokens, token errors, retries."""

from __future__ import annotations

import re

import pytest

from ansible_collections.coconut.entra.plugins.module_utils.coconut import CoconutClient
from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError

TOKEN = "coconut-api-token-value-never-shown"
REVOKED = "coconut-api-token-revoked-value"


def staff(n, **extra):
    record = {"id": 100 + n, "first_name": "Staff", "last_name": str(n), "email": f"staff{n}@bank.example",
              "status": "archived" if n % 10 == 0 else "active"}
    record.update(extra)
    return record


def scenario(count=3):
    return {"entra": {"tenant_id": "0b8a3d8e-1111-4a4a-8b8b-000000000001"},
            "coconut": {"api_tokens": [{"id": "t1", "value": TOKEN, "name": "sync"}, {"id": "t2", "value": REVOKED, "revoked": True}],
                        "locations": [{"id": 1, "external_id": "MAIN", "name": "Main Street"}],
                        "user_groups": [{"id": 1, "external_id": None, "name": "Tellers"}],
                        "users": [staff(n) for n in range(1, count + 1)]}}


@pytest.fixture
def sandbox(module_sandbox):
    module_sandbox.reset(scenario())
    return module_sandbox


def coconut(sandbox, waits=None, **overrides):
    options = dict(url=sandbox.vars["coconut_url"], api_token=TOKEN, ca_path=sandbox.ca_path, sleep=(waits if waits is not None else []).append)
    options.update(overrides)
    return CoconutClient(**options)


def api_requests(sandbox, pattern=""):
    return [r for r in sandbox.requests() if r["service"] == "coconut" and re.search(pattern, r["path"])]


def new_staff(n, object_id=None, **extra):
    attrs = {"first_name": "New", "last_name": str(n), "email": f"new{n}@bank.example"}
    if object_id:
        attrs["integration"] = {"source": "entra_id", "object_id": object_id}
    attrs.update(extra)
    return attrs


# ---- reading -----------------------------------------------------------------------------------


def test_1200_staff_are_read_in_3_pages_of_500_in_order_with_every_status(sandbox):
    sandbox.reset(scenario(1200))
    records = coconut(sandbox).list_staff()
    assert [r["id"] for r in records] == [str(100 + n) for n in range(1, 1201)]
    assert {r["status"] for r in records} == {"active", "archived"}
    assert records[0] == {"id": "101", "first_name": "Staff", "last_name": "1", "email": "staff1@bank.example", "username": None,
                          "external_id": None, "job_title": None, "language": "en", "role": 10, "status": "active",
                          "locations": [], "user_group_id": None, "integration": None}
    pages = api_requests(sandbox, r"/users\?")
    assert len(pages) == 3 and all("limit=500" in p["path"] for p in pages)
    assert "page=1" in pages[0]["path"]


def test_later_pages_are_read_concurrently(sandbox, monkeypatch):
    import threading

    sandbox.reset(scenario(2600))
    client = coconut(sandbox, concurrency=4)
    in_flight, peak, lock = [0], [0], threading.Lock()
    original = client._page

    def counting(*args):
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        try:
            return original(*args)
        finally:
            with lock:
                in_flight[0] -= 1

    monkeypatch.setattr(client, "_page", counting)
    assert len(client.list_staff()) == 2600
    assert peak[0] > 1 and peak[0] <= 4


def test_an_empty_site_is_one_request(sandbox):
    sandbox.reset(scenario(0))
    assert coconut(sandbox).list_staff() == []
    assert len(api_requests(sandbox)) == 1


def test_list_staff_filters(sandbox):
    client = coconut(sandbox)
    assert [r["id"] for r in client.list_staff(email="STAFF2@bank.example")] == ["102"]


def test_get_staff_returns_none_when_missing(sandbox):
    client = coconut(sandbox)
    assert client.get_staff("102")["email"] == "staff2@bank.example"
    assert client.get_staff("999") is None


# ---- writing -----------------------------------------------------------------------------------


def test_create_and_update_one_staff_member(sandbox):
    client = coconut(sandbox)
    created = client.create_staff(new_staff(1, "oid-1"), send_invite=True)
    assert created["id"] and created["integration"] == {"source": "entra_id", "object_id": "oid-1"}
    assert sandbox.state()["coconut"]["invites"][0]["email"] == "new1@bank.example"
    updated = client.update_staff(created["id"], {"job_title": "Teller"})
    assert updated["job_title"] == "Teller" and updated["first_name"] == "New"


def test_a_second_create_for_the_same_object_id_raises_409_with_the_existing_id(sandbox):
    client = coconut(sandbox)
    first = client.create_staff(new_staff(1, "oid-1"))
    with pytest.raises(CoconutEntraError) as caught:
        client.create_staff(new_staff(2, "oid-1"))
    assert caught.value.details["code"] == "duplicate_object_id" and caught.value.details["existing_id"] == first["id"]


def test_a_validation_error_names_the_field(sandbox):
    with pytest.raises(CoconutEntraError) as caught:
        coconut(sandbox).create_staff(new_staff(1, email="not-an-email"))
    assert "Coconut answered 422 invalid while creating Coconut staff New 1 <not-an-email>" in caught.value.msg
    assert "/data/attributes/email" in caught.value.msg


def test_bulk_create_returns_one_result_per_input_in_order_over_several_documents(sandbox):
    items = [new_staff(n, f"oid-{n}") for n in range(150)]
    items[120]["email"] = "broken"
    results = coconut(sandbox).bulk_create(items)
    assert len(results) == 150
    assert results[120]["staff"] is None and results[120]["error"]["code"] == "invalid"
    assert all(r["staff"]["integration"]["object_id"] == f"oid-{n}" for n, r in enumerate(results) if n != 120)
    assert len(api_requests(sandbox, r"^/api/v2/users$")) == 2


def test_bulk_create_reports_duplicates_per_item(sandbox):
    client = coconut(sandbox)
    existing = client.create_staff(new_staff(1, "oid-1"))
    results = client.bulk_create([new_staff(2, "oid-2"), new_staff(3, "oid-1")])
    assert results[0]["staff"] and results[0]["error"] is None
    assert results[1]["error"]["code"] == "duplicate_object_id" and results[1]["error"]["meta"]["id"] == existing["id"]


def test_bulk_update_returns_one_result_per_input(sandbox):
    results = coconut(sandbox).bulk_update([("101", {"job_title": "Teller"}), ("999", {"job_title": "x"}), ("102", {"status": "archived"})])
    assert results[0]["staff"]["job_title"] == "Teller"
    assert results[1]["error"]["code"] == "not_found"
    assert results[2]["staff"]["status"] == "archived"


def test_a_bulk_create_whose_connection_drops_is_retried_safely(sandbox):
    waits = []
    sandbox.faults([{"service": "coconut", "method": "POST", "path": "^/api/v2/users$", "reset": True}])
    results = coconut(sandbox, waits).bulk_create([new_staff(1, "oid-1")])
    assert results[0]["staff"] and len(waits) == 1


def test_429_on_coconut_is_waited_out(sandbox):
    waits = []
    sandbox.faults([{"service": "coconut", "path": "/users", "status": 429, "headers": {"Retry-After": "1.5"},
                     "body": {"errors": [{"status": "429", "code": "rate_limited"}]}}])
    assert len(coconut(sandbox, waits).list_staff()) == 3
    assert waits == [1.5]


# ---- groups, locations, integration, tokens ----------------------------------------------------


def test_user_groups_and_locations(sandbox):
    client = coconut(sandbox)
    assert client.list_user_groups() == [{"id": "1", "name": "Tellers", "external_id": None}]
    made = client.create_user_group("Managers", external_id="MGR")
    assert made == {"id": "2", "name": "Managers", "external_id": "MGR"}
    assert client.update_user_group(made["id"], {"external_id": "MGRS"})["external_id"] == "MGRS"
    assert client.list_locations() == [{"id": "1", "external_id": "MAIN", "name": "Main Street"}]


def test_integration_record_lifecycle(sandbox):
    client = coconut(sandbox)
    assert client.get_integration() is None
    assert client.delete_integration() is False
    record = client.put_integration({"status": "connected", "tenant_id": "t", "client_id": "c", "groups": ["g"]})
    assert record["status"] == "connected" and record["groups"] == ["g"]
    assert client.get_integration()["client_id"] == "c"
    assert client.delete_integration() is True
    assert client.get_integration() is None


def test_api_token_lifecycle_and_whoami(sandbox):
    client = coconut(sandbox)
    assert client.whoami()["id"] == "t1" and client.check_token() is True
    new = client.create_api_token("rotated")
    assert new["token"] and new["name"] == "rotated"
    fresh = coconut(sandbox, api_token=new["token"])
    assert fresh.whoami()["id"] == new["id"]
    assert fresh.delete_api_token("t1") is True and fresh.delete_api_token("t1") is False
    assert [t["id"] for t in fresh.list_api_tokens()] == [new["id"]]


# ---- failures ----------------------------------------------------------------------------------


def test_a_revoked_token_says_rotate_or_reconnect(sandbox):
    with pytest.raises(CoconutEntraError) as caught:
        coconut(sandbox, api_token=REVOKED).list_staff()
    assert caught.value.msg.startswith("the Coconut API token was revoked: issue a new API token in Coconut")
    assert "connect.yml" in caught.value.msg
    assert "connect.yml" in caught.value.msg and caught.value.details["code"] == "token_revoked"
    assert REVOKED not in str(caught.value) and REVOKED not in repr(caught.value.details)


def test_an_invalid_token_says_check_the_variable(sandbox):
    with pytest.raises(CoconutEntraError) as caught:
        coconut(sandbox, api_token="wrong-token").check_token()
    assert caught.value.msg.startswith("the Coconut API token is not valid: check coconut_api_token")
    assert "wrong-token" not in str(caught.value)


@pytest.mark.parametrize("url", ["http://demo.coconutcalendar.com", "demo.coconutcalendar.com", "https://", None])
def test_the_url_must_be_https(url):
    with pytest.raises(CoconutEntraError, match="coconut_url must be the https:// address"):
        CoconutClient(url, TOKEN)


def test_the_api_base_is_added_once():
    assert CoconutClient("https://demo.coconutcalendar.com/", TOKEN).base_url == "https://demo.coconutcalendar.com/api/v2"
    assert CoconutClient("https://demo.coconutcalendar.com/api/v2", TOKEN).base_url == "https://demo.coconutcalendar.com/api/v2"


@pytest.mark.parametrize("token", ["", "  ", "two words"])
def test_an_empty_or_malformed_token_is_refused_before_any_request(token):
    with pytest.raises(CoconutEntraError, match="coconut_api_token is"):
        CoconutClient("https://demo.coconutcalendar.com", token)


def test_stats_count_requests_by_method(sandbox):
    client = coconut(sandbox)
    client.list_staff()
    client.update_staff("101", {"job_title": "x"})
    assert client.stats["requests"] == 2 and client.stats["by_method"] == {"GET": 1, "PATCH": 1}


def test_references_are_sent_as_integers(sandbox, monkeypatch):
    """The client keeps ids as strings (JSON:API ids are); role and user_group_id go out as the integers the API holds."""
    client = coconut(sandbox)
    sent, original = [], client._request

    def recording(*args, **kwargs):
        if kwargs.get("document") is not None:
            data = kwargs["document"]["data"]
            sent.extend(item["attributes"] for item in (data if isinstance(data, list) else [data]))
        return original(*args, **kwargs)

    monkeypatch.setattr(client, "_request", recording)
    created = client.create_staff(new_staff(1, "oid-1", user_group_id="1", role="13"))
    client.update_staff(created["id"], {"user_group_id": "1"})
    client.bulk_create([new_staff(2, "oid-2", user_group_id="1", role=10)])
    client.bulk_update([(created["id"], {"user_group_id": "1", "role": "15"})])
    references = [(name, attrs[name]) for attrs in sent for name in ("role", "user_group_id") if name in attrs]
    assert len(references) == 7 and all(isinstance(value, int) for _name, value in references), references
