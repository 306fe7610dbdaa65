"""The Coconut API v2 model: users (paging, filters, writes, bulk), groups, locations, integration, tokens, auth."""

import pytest

from sandbox.client import make_scenario, synced

USERS = "/api/v2/users"


def staff(n, **fields):
    return {"first_name": f"First{n}", "last_name": f"Last{n}", "email": f"person{n}@bank.example", **fields}


def new_user(**attributes):
    return {"data": {"type": "users", "attributes": {"first_name": "Nia", "last_name": "Long", "email": "nia.long@bank.example", **attributes}},
            "meta": {"send_invite": False}}


@pytest.fixture
def coconut(api_for):
    """60 staff (ids 101..160; every third archived) and two locations, a user group, one revoked token."""
    scenario = make_scenario(users=0, groups=[], staff=[staff(n, status="archived" if n % 3 == 0 else "active") for n in range(60)],
                             locations=[{"id": 1, "external_id": "MAIN", "name": "Main"}, {"id": 2, "external_id": "WEST", "name": "West"}],
                             user_groups=[{"id": 1, "external_id": None, "name": "Tellers"}],
                             coconut={"api_tokens": [{"id": "t1", "value": "good-token"}, {"id": "t0", "value": "old-token", "revoked": True}]})
    scenario["coconut"]["users"][0]["integration"] = {"source": "entra_id", "object_id": "entra-object-1"}
    return api_for(scenario)


def errors(response):
    return response.json()["errors"]


def test_users_are_paged_with_meta_and_links(coconut):
    first = coconut.coconut(USERS + "?limit=25").json()
    assert [u["id"] for u in first["data"]][:2] == ["101", "102"] and first["data"][0]["type"] == "users"
    assert first["meta"]["pagination"] == {"total": 60, "count": 25, "per_page": 25, "current_page": 1, "total_pages": 3}
    assert first["links"]["next"].endswith("page=2&limit=25") and first["links"]["last"].endswith("page=3&limit=25")
    last = coconut.coconut(first["links"]["last"]).json()
    assert last["meta"]["pagination"]["count"] == 10 and last["links"]["next"] is None
    assert set(first["data"][0]["attributes"]) >= {"first_name", "last_name", "email", "status", "integration", "locations", "role"}
    assert "id" not in first["data"][0]["attributes"]


def test_default_page_is_25_and_500_is_the_most(coconut):
    assert coconut.coconut(USERS).json()["meta"]["pagination"]["per_page"] == 25
    assert coconut.coconut(USERS + "?limit=500").json()["meta"]["pagination"]["count"] == 60


@pytest.mark.parametrize("query", ["limit=501", "limit=0", "page=0", "page=x", "filter[status]=gone", "sort=name"])
def test_bad_paging_or_filters_are_400(coconut, query):
    response = coconut.coconut(f"{USERS}?{query}")
    assert response.status_code == 400 and errors(response)[0]["status"] == "400" and errors(response)[0]["source"]["parameter"]


def test_filter_by_status_and_by_email_ignoring_case(coconut):
    archived = coconut.coconut(USERS + "?filter[status]=archived&limit=100").json()
    assert archived["meta"]["pagination"]["total"] == 20 and all(u["attributes"]["status"] == "archived" for u in archived["data"])
    found = coconut.coconut(USERS + "?filter[email]=PERSON7@Bank.Example").json()["data"]
    assert [u["id"] for u in found] == ["108"]


def test_get_one_user_and_404(coconut):
    assert coconut.coconut(USERS + "/101").json()["data"]["attributes"]["integration"] == {"source": "entra_id", "object_id": "entra-object-1"}
    response = coconut.coconut(USERS + "/999")
    assert response.status_code == 404 and errors(response)[0]["code"] == "not_found"


def test_create_gets_the_next_id_defaults_and_records_the_invite(coconut):
    body = new_user(job_title="Teller", locations=["MAIN"])
    body["meta"]["send_invite"] = True
    response = coconut.coconut(USERS, method="POST", json=body)
    assert response.status_code == 201
    created = response.json()["data"]
    assert created["id"] == "161" and created["attributes"]["status"] == "active" and created["attributes"]["role"] == 10
    state = coconut.sandbox.state()["coconut"]
    assert [i["user_id"] for i in state["invites"]] == [161] and state["users"][-1]["email"] == "nia.long@bank.example"


def test_create_without_invite_records_none(coconut):
    assert coconut.coconut(USERS, method="POST", json=new_user()).status_code == 201
    assert coconut.sandbox.state()["coconut"]["invites"] == []


@pytest.mark.parametrize("attributes, pointer", [
    ({"email": None}, "/data/attributes/email"),
    ({"last_name": " "}, "/data/attributes/last_name"),
    ({"status": "deleted"}, "/data/attributes/status"),
    ({"role": 99}, "/data/attributes/role"),
    ({"locations": ["NOWHERE"]}, "/data/attributes/locations"),
    ({"favourite_colour": "teal"}, "/data/attributes/favourite_colour"),
    ({"integration": {"source": "okta", "object_id": "x"}}, "/data/attributes/integration"),
])
def test_invalid_create_is_422_with_a_pointer(coconut, attributes, pointer):
    response = coconut.coconut(USERS, method="POST", json=new_user(**attributes))
    assert response.status_code == 422 and errors(response)[0]["source"]["pointer"] == pointer


def test_creating_a_second_user_with_the_same_object_id_is_409(coconut):
    response = coconut.coconut(USERS, method="POST", json=new_user(integration={"source": "entra_id", "object_id": "entra-object-1"}))
    assert response.status_code == 409
    assert errors(response)[0]["code"] == "duplicate_object_id" and errors(response)[0]["meta"] == {"id": "101"}


def test_patch_changes_only_the_given_fields_and_archives(coconut):
    response = coconut.coconut(USERS + "/102", method="PATCH", json={"data": {"type": "users", "id": "102", "attributes": {"status": "archived"}}})
    assert response.status_code == 200
    attributes = response.json()["data"]["attributes"]
    assert attributes["status"] == "archived" and attributes["first_name"] == "First1"


def test_patch_taking_an_object_id_held_by_another_user_is_409(coconut):
    body = {"data": {"type": "users", "id": "102", "attributes": {"integration": {"source": "entra_id", "object_id": "entra-object-1"}}}}
    response = coconut.coconut(USERS + "/102", method="PATCH", json=body)
    assert response.status_code == 409 and errors(response)[0]["meta"] == {"id": "101"}
    same_user = coconut.coconut(USERS + "/101", method="PATCH", json={**body, "data": {**body["data"], "id": "101"}})
    assert same_user.status_code == 200


def test_there_is_no_delete(coconut):
    for path in (USERS + "/101", USERS):
        response = coconut.coconut(path, method="DELETE")
        assert response.status_code == 405 and errors(response)[0]["code"] == "method_not_allowed"


def test_bulk_create_answers_per_item_in_order(coconut):
    items = [{"type": "users", "attributes": staff(100)},
             {"type": "users", "attributes": {**staff(101), "email": "not-an-email"}},
             {"type": "users", "attributes": {**staff(102), "integration": synced({"id": "entra-object-1"})}},
             {"type": "users", "attributes": {**staff(103), "integration": synced({"id": "entra-object-2"})}},
             {"type": "users", "attributes": {**staff(104), "integration": synced({"id": "entra-object-2"})}}]
    response = coconut.coconut(USERS, method="POST", bulk=True, json={"data": items, "meta": {"send_invite": False}})
    assert response.status_code == 200
    body = response.json()
    assert [d and d["id"] for d in body["data"]] == ["161", None, None, "162", None]
    assert [(e["status"], e["source"]["pointer"]) for e in body["errors"]] == [("422", "/data/1"), ("409", "/data/2"), ("409", "/data/4")]
    assert body["errors"][1]["meta"] == {"id": "101"} and body["errors"][2]["meta"] == {"id": "162"}


def test_bulk_update_answers_per_item(coconut):
    items = [{"type": "users", "id": "101", "attributes": {"job_title": "Head Teller"}},
             {"type": "users", "id": "9999", "attributes": {"job_title": "Ghost"}}]
    body = coconut.coconut(USERS, method="PATCH", bulk=True, json={"data": items}).json()
    assert body["data"][0]["attributes"]["job_title"] == "Head Teller" and body["data"][1] is None
    assert body["errors"][0]["status"] == "404" and body["errors"][0]["source"]["pointer"] == "/data/1"


def test_bulk_holds_at_most_100_items(coconut):
    items = [{"type": "users", "attributes": staff(1000 + n)} for n in range(101)]
    response = coconut.coconut(USERS, method="POST", bulk=True, json={"data": items})
    assert response.status_code == 422 and errors(response)[0]["code"] == "too_many_items"
    assert coconut.coconut(USERS, method="POST", bulk=True, json={"data": items[:100]}).status_code == 200


def test_a_list_without_the_bulk_extension_is_refused(coconut):
    response = coconut.coconut(USERS, method="POST", json={"data": [{"type": "users", "attributes": staff(1)}]})
    assert response.status_code == 400


@pytest.mark.parametrize("token, code", [("wrong", "token_invalid"), ("old-token", "token_revoked"), (None, "token_invalid")])
def test_bad_or_revoked_tokens_are_401(coconut, token, code):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = coconut.request("GET", coconut.vars["coconut_url"] + USERS, headers=headers)
    assert response.status_code == 401
    assert errors(response)[0]["code"] == code and errors(response)[0]["title"] and errors(response)[0]["detail"]


def test_user_groups_list_create_patch(coconut):
    listed = coconut.coconut("/api/v2/user-groups").json()
    assert [g["attributes"]["name"] for g in listed["data"]] == ["Tellers"] and listed["meta"]["pagination"]["total"] == 1
    created = coconut.coconut("/api/v2/user-groups", method="POST", json={"data": {"type": "user-groups", "attributes": {"name": "Advisors"}}})
    assert created.status_code == 201 and created.json()["data"]["id"] == "2"
    patched = coconut.coconut("/api/v2/user-groups/2", method="PATCH",
                              json={"data": {"type": "user-groups", "id": "2", "attributes": {"external_id": "grp-advisors"}}})
    assert patched.json()["data"]["attributes"] == {"name": "Advisors", "external_id": "grp-advisors"}
    duplicate = coconut.coconut("/api/v2/user-groups", method="POST", json={"data": {"type": "user-groups", "attributes": {"name": "Tellers"}}})
    assert duplicate.status_code == 422


def test_locations_are_listed(coconut):
    body = coconut.coconut("/api/v2/locations").json()
    assert [(loc["id"], loc["attributes"]["external_id"]) for loc in body["data"]] == [("1", "MAIN"), ("2", "WEST")]
    assert coconut.coconut("/api/v2/locations", method="POST", json={}).status_code == 405


def test_integration_record_lifecycle(coconut):
    path = "/api/v2/integrations/entra-id"
    assert coconut.coconut(path).status_code == 404
    record = {"status": "connected", "tenant_id": "tid", "client_id": "cid", "groups": ["g1"]}
    put = coconut.coconut(path, method="PUT", json={"data": {"type": "integrations", "id": "entra-id", "attributes": record}})
    assert put.status_code == 200
    got = coconut.coconut(path).json()["data"]
    assert got["type"] == "integrations" and got["id"] == "entra-id"
    assert {k: got["attributes"][k] for k in record} == record and "connected_at" in got["attributes"]
    assert coconut.sandbox.state()["coconut"]["integration"]["groups"] == ["g1"]
    assert coconut.coconut(path, method="DELETE").status_code == 204
    assert coconut.coconut(path, method="DELETE").status_code == 404


def test_api_tokens_are_listed_without_values_created_and_revoked(coconut):
    listed = coconut.coconut("/api/v2/api-tokens").json()["data"]
    assert [(t["id"], t["attributes"]["current"]) for t in listed] == [("t1", True)]
    assert all("token" not in t["attributes"] and "good-token" not in str(t) for t in listed)
    created = coconut.coconut("/api/v2/api-tokens", method="POST", json={"data": {"type": "api-tokens", "attributes": {"name": "rotated"}}})
    assert created.status_code == 201
    new = created.json()["data"]
    assert new["attributes"]["name"] == "rotated" and new["attributes"]["token"]
    assert coconut.coconut("/api/v2/users", token=new["attributes"]["token"]).status_code == 200
    assert coconut.coconut("/api/v2/api-tokens/t1", method="DELETE", token=new["attributes"]["token"]).status_code == 204
    old = coconut.coconut("/api/v2/users")
    assert old.status_code == 401 and errors(old)[0]["code"] == "token_revoked"
    assert coconut.coconut("/api/v2/api-tokens/t1", method="DELETE", token=new["attributes"]["token"]).status_code == 404


def test_unknown_route_is_404_json_api(coconut):
    response = coconut.coconut("/api/v2/appointments")
    assert response.status_code == 404 and errors(response)[0]["code"] == "not_found"


@pytest.mark.parametrize("sent, stored", [(1, 1), ("1", 1), (" 1 ", 1)])
def test_user_group_id_and_role_are_stored_and_answered_as_integers(coconut, sent, stored):
    """Attributes that refer to records are integers, as the real API holds them: a numeric string is taken as its number."""
    created = coconut.coconut(USERS, method="POST", json=new_user(user_group_id=sent, role=str(13) if isinstance(sent, str) else 13))
    assert created.status_code == 201
    attributes = created.json()["data"]["attributes"]
    assert attributes["user_group_id"] == stored and isinstance(attributes["user_group_id"], int)
    assert attributes["role"] == 13 and isinstance(attributes["role"], int)
    patched = coconut.coconut(USERS + "/102", method="PATCH", json={"data": {"type": "users", "id": "102", "attributes": {"user_group_id": sent}}})
    assert isinstance(patched.json()["data"]["attributes"]["user_group_id"], int)
    listed = coconut.coconut(USERS + "?filter[email]=nia.long@bank.example").json()["data"][0]["attributes"]
    assert isinstance(listed["user_group_id"], int) and isinstance(listed["role"], int)


@pytest.mark.parametrize("attributes, pointer", [
    ({"user_group_id": "Tellers"}, "/data/attributes/user_group_id"),
    ({"user_group_id": True}, "/data/attributes/user_group_id"),
    ({"user_group_id": 1.0}, "/data/attributes/user_group_id"),
    ({"user_group_id": 7}, "/data/attributes/user_group_id"),
    ({"role": "staff"}, "/data/attributes/role"),
    ({"role": "10.0"}, "/data/attributes/role"),
])
def test_non_integer_references_are_422(coconut, attributes, pointer):
    response = coconut.coconut(USERS, method="POST", json=new_user(**attributes))
    assert response.status_code == 422 and errors(response)[0]["source"]["pointer"] == pointer


def test_a_list_page_served_again_shows_every_change_since(coconut):
    """List pages are kept encoded until the state changes: a write, a bulk write or a control edit shows at once."""
    page = USERS + "?page=1&limit=5"

    def titles():
        return [u["attributes"]["job_title"] for u in coconut.coconut(page).json()["data"]]

    assert titles() == titles() == [None] * 5
    coconut.coconut(USERS + "/102", method="PATCH", json={"data": {"type": "users", "id": "102", "attributes": {"job_title": "Teller"}}})
    assert titles() == [None, "Teller", None, None, None]
    coconut.coconut(USERS, method="PATCH", bulk=True, json={"data": [{"type": "users", "id": "103", "attributes": {"job_title": "Advisor"}}]})
    assert titles() == [None, "Teller", "Advisor", None, None]
    coconut.sandbox.patch_coconut({"users": {"update": [{"id": 104, "job_title": "Manager"}]}})
    assert titles() == [None, "Teller", "Advisor", "Manager", None]
    assert coconut.coconut(page, token="old-token").status_code == 401, "a kept page never skips the token check"
