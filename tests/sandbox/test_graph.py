"""Microsoft Graph v1.0 as the sandbox serves it: groups, members, paging, select, delta, applications, errors."""

import time

import jwt
import pytest

from sandbox.client import Ids, make_scenario, make_user


def demo_group(api, name):
    state = api.sandbox.state()
    return next(g for g in state["entra"]["groups"] if g["displayName"] == name)


def big_group_scenario(count=250, **kwargs):
    return make_scenario(users=count, **kwargs)


def nested_scenario():
    """Outer holds ada and Inner; Inner holds grace, ada again and Outer (a cycle)."""
    ids = Ids(7)
    ada, grace = make_user(ids, "Ada", "Lovelace"), make_user(ids, "Grace", "Hopper")
    outer, inner = ids(), ids()
    groups = [{"id": outer, "displayName": "Outer", "members": [ada["id"], inner]},
              {"id": inner, "displayName": "Inner", "members": [grace["id"], ada["id"], outer]}]
    return make_scenario(users=[ada, grace], groups=groups), outer, ada, grace, inner


def test_group_by_id_with_a_doubled_slash_after_the_version(demo):
    group = demo_group(demo, "Coconut - Tellers")
    response = demo.graph(f"/v1.0//groups/{group['id']}")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == group["id"] and body["displayName"] == "Coconut - Tellers" and "@odata.context" in body


def test_unknown_group_is_404_in_graph_error_shape(demo):
    response = demo.graph("/v1.0/groups/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "Request_ResourceNotFound" and error["message"]
    assert {"date", "request-id", "client-request-id"} <= set(error["innerError"])


def test_groups_filter_by_display_name_unescapes_quotes(api_for):
    api = api_for(make_scenario(groups=[{"displayName": "O'Brien's team", "members": []}, {"displayName": "Other", "members": []}]))
    response = api.graph("/v1.0/groups", params={"$filter": "displayName eq 'O''Brien''s team'"})
    assert [g["displayName"] for g in response.json()["value"]] == ["O'Brien's team"]
    assert api.graph("/v1.0/groups", params={"$filter": "displayName eq 'nobody'"}).json()["value"] == []


def test_unsupported_filter_is_400(demo):
    response = demo.graph("/v1.0/groups", params={"$filter": "startswith(displayName,'Co')"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "Request_UnsupportedQuery"


def test_members_page_by_100_by_default_with_full_nextlinks(api_for):
    api = api_for(big_group_scenario(250))
    group = api.sandbox.state()["entra"]["groups"][0]["id"]
    first = api.graph(f"/v1.0/groups/{group}/members").json()
    assert len(first["value"]) == 100
    assert first["@odata.nextLink"].startswith(api.vars["entra_graph_url"] + "/v1.0/groups/") and "$skiptoken=" in first["@odata.nextLink"]
    items, pages, last = api.graph_all(f"/v1.0/groups/{group}/members")
    assert pages == 3 and len({i["id"] for i in items}) == 250 and "@odata.nextLink" not in last


@pytest.mark.parametrize("top, pages", [("999", 1), ("1", 250), ("120", 3)])
def test_members_top_sets_the_page_size(api_for, top, pages):
    api = api_for(big_group_scenario(250))
    group = api.sandbox.state()["entra"]["groups"][0]["id"]
    items, counted, _unused = api.graph_all(f"/v1.0/groups/{group}/members/microsoft.graph.user?$top={top}&$select=id")
    assert counted == pages and len(items) == 250


@pytest.mark.parametrize("top", ["0", "1000", "abc"])
def test_top_outside_1_to_999_is_400(demo, top):
    group = demo_group(demo, "Coconut - Tellers")
    response = demo.graph(f"/v1.0/groups/{group['id']}/members?$top={top}")
    assert response.status_code == 400 and response.json()["error"]["code"] == "Request_UnsupportedQuery"


def test_bad_skiptoken_is_400(demo):
    group = demo_group(demo, "Coconut - Tellers")
    assert demo.graph(f"/v1.0/groups/{group['id']}/members?$skiptoken=garbage!").status_code == 400


def test_members_without_cast_are_typed_and_list_nested_groups(api_for):
    scenario, outer, ada, _unused, inner = nested_scenario()
    api = api_for(scenario)
    members = api.graph(f"/v1.0/groups/{outer}/members").json()["value"]
    assert [(m["@odata.type"], m["id"]) for m in members] == [("#microsoft.graph.user", ada["id"]), ("#microsoft.graph.group", inner)]
    cast = api.graph(f"/v1.0/groups/{outer}/members/microsoft.graph.user").json()
    assert [m["id"] for m in cast["value"]] == [ada["id"]] and "@odata.type" not in cast["value"][0]


def test_transitive_members_follow_nesting_once_despite_a_cycle(api_for):
    scenario, outer, ada, grace, inner = nested_scenario()
    api = api_for(scenario)
    cast = api.graph(f"/v1.0/groups/{outer}/transitiveMembers/microsoft.graph.user?$select=id").json()["value"]
    assert sorted(m["id"] for m in cast) == sorted([ada["id"], grace["id"]])
    everything = api.graph(f"/v1.0/groups/{outer}/transitiveMembers?$select=id").json()["value"]
    assert sorted(m["id"] for m in everything) == sorted([ada["id"], grace["id"], inner, outer])


def test_default_properties_leave_out_account_enabled_and_select_brings_it(demo):
    group = demo_group(demo, "Coconut - Tellers")
    default = demo.graph(f"/v1.0/groups/{group['id']}/members/microsoft.graph.user").json()["value"][0]
    assert {"displayName", "givenName", "surname", "mail", "userPrincipalName", "jobTitle", "id"} <= set(default)
    assert "accountEnabled" not in default and "employeeId" not in default
    selected = demo.graph(f"/v1.0/groups/{group['id']}/members/microsoft.graph.user?$select=id,accountEnabled,employeeId").json()["value"][0]
    assert set(selected) == {"id", "accountEnabled", "employeeId"}


def test_unset_selected_fields_are_null(api_for):
    ids = Ids(3)
    user = {"id": ids(), "displayName": "No Mail", "givenName": "No", "surname": "Mail", "accountEnabled": True}
    api = api_for(make_scenario(users=[user]))
    group = api.sandbox.state()["entra"]["groups"][0]["id"]
    item = api.graph(f"/v1.0/groups/{group}/members/microsoft.graph.user?$select=id,mail,employeeId,jobTitle").json()["value"][0]
    assert item == {"id": user["id"], "mail": None, "employeeId": None, "jobTitle": None}


def test_selecting_an_unknown_user_property_is_400(demo):
    group = demo_group(demo, "Coconut - Tellers")
    response = demo.graph(f"/v1.0/groups/{group['id']}/members/microsoft.graph.user?$select=id,shoeSize")
    assert response.status_code == 400


def test_users_by_id_and_by_upn(demo):
    user = demo.sandbox.state()["entra"]["users"][0]
    assert demo.graph(f"/v1.0/users/{user['id']}").json()["mail"] == user["mail"]
    assert demo.graph(f"/v1.0/users/{user['userPrincipalName']}").json()["id"] == user["id"]
    assert demo.graph("/v1.0/users/nobody@nowhere.example").status_code == 404


# -- delta ------------------------------------------------------------------------------------


def test_users_delta_pages_then_answers_only_changes(api_for):
    scenario = make_scenario(users=5)
    api = api_for(scenario)
    items, pages, last = api.graph_all("/v1.0/users/delta?$select=id,displayName,accountEnabled", headers={"Prefer": "odata.maxpagesize=2"})
    assert pages == 3 and len(items) == 5 and set(items[0]) == {"id", "displayName", "accountEnabled"}
    delta_link = last["@odata.deltaLink"]
    assert "$deltatoken=" in delta_link
    users = scenario["entra"]["users"]
    api.sandbox.patch_entra({"users": {"update": [{"id": users[0]["id"], "accountEnabled": False}], "remove": [users[1]["id"]]}})
    changes, _unused, last = api.graph_all(delta_link)
    assert {c["id"]: c.get("accountEnabled", c.get("@removed")) for c in changes} == {users[0]["id"]: False, users[1]["id"]: {"reason": "changed"}}
    nothing, _unused, _unused = api.graph_all(last["@odata.deltaLink"])
    assert nothing == []


def test_groups_delta_reports_members_added_and_removed(api_for):
    scenario = make_scenario(users=4, groups=None)
    users = scenario["entra"]["users"]
    scenario["entra"]["groups"][0]["members"] = [u["id"] for u in users[:3]]
    api = api_for(scenario)
    group = scenario["entra"]["groups"][0]["id"]
    items, _unused, last = api.graph_all(f"/v1.0/groups/delta?$filter=id eq '{group}'&$select=members")
    assert [m["id"] for m in items[0]["members@delta"]] == [u["id"] for u in users[:3]]
    members = [users[0]["id"], users[2]["id"], users[3]["id"]]
    api.sandbox.patch_entra({"groups": {"update": [{"id": group, "members": members}]}})
    changes, _unused, last = api.graph_all(last["@odata.deltaLink"])
    delta = changes[0]["members@delta"]
    assert {m["id"]: m.get("@removed") for m in delta} == {users[3]["id"]: None, users[1]["id"]: {"reason": "changed"}}
    assert all(m["@odata.type"] == "#microsoft.graph.user" for m in delta)
    unchanged, _unused, _unused = api.graph_all(last["@odata.deltaLink"])
    assert unchanged == []


def test_groups_delta_splits_a_big_membership_over_repeated_group_entries(api_for):
    api = api_for(make_scenario(users=7, entra={"delta_members_per_item": 3}))
    group = api.sandbox.state()["entra"]["groups"][0]["id"]
    items, _unused, _unused = api.graph_all(f"/v1.0/groups/delta?$filter=id eq '{group}'&$select=members")
    assert [len(i["members@delta"]) for i in items] == [3, 3, 1] and {i["id"] for i in items} == {group}


def test_a_deleted_member_is_removed_with_reason_deleted(api_for):
    scenario = make_scenario(users=2)
    api = api_for(scenario)
    group, gone = scenario["entra"]["groups"][0]["id"], scenario["entra"]["users"][1]["id"]
    _unused, _unused, last = api.graph_all(f"/v1.0/groups/delta?$filter=id eq '{group}'&$select=members")
    api.sandbox.patch_entra({"users": {"remove": [gone]}})
    changes, _unused, _unused = api.graph_all(last["@odata.deltaLink"])
    assert changes[0]["members@delta"] == [{"@odata.type": "#microsoft.graph.user", "id": gone, "@removed": {"reason": "deleted"}}]


@pytest.mark.parametrize("make_stale", ["unknown", "put_state", "invalidate"])
def test_stale_delta_token_is_410_sync_state_not_found(api_for, make_stale):
    scenario = make_scenario(users=2)
    api = api_for(scenario)
    _unused, _unused, last = api.graph_all("/v1.0/users/delta")
    link = last["@odata.deltaLink"]
    if make_stale == "unknown":
        link = link.split("$deltatoken=")[0] + "$deltatoken=not-a-token"
    elif make_stale == "put_state":
        api.sandbox.put_state(api.sandbox.state())
    else:
        api.sandbox.invalidate_delta_tokens()
    response = api.graph(link)
    assert response.status_code == 410 and response.json()["error"]["code"] == "syncStateNotFound"


# -- applications -----------------------------------------------------------------------------


def test_application_by_object_id_and_by_app_id(demo):
    by_id = demo.graph(f"/v1.0/applications/{demo.vars['entra_app_object_id']}").json()
    by_app_id = demo.graph(f"/v1.0/applications(appId='{demo.vars['entra_client_id']}')").json()
    assert by_id["id"] == by_app_id["id"] == demo.vars["entra_app_object_id"]
    assert by_id["appId"] == demo.vars["entra_client_id"]
    credential = by_id["passwordCredentials"][0]
    assert credential["secretText"] is None and credential["hint"] == demo.vars["entra_client_secret"][:3]
    listed = demo.graph("/v1.0/applications", params={"$filter": f"appId eq '{demo.vars['entra_client_id']}'"}).json()["value"]
    assert [a["id"] for a in listed] == [demo.vars["entra_app_object_id"]]


def test_add_password_returns_the_secret_once_and_remove_password_deletes_it(api):
    app = api.vars["entra_app_object_id"]
    added = api.graph(f"/v1.0/applications/{app}/addPassword", method="POST",
                      json={"passwordCredential": {"displayName": "rotated", "endDateTime": "2026-12-31T00:00:00Z"}})
    assert added.status_code == 200
    body = added.json()
    assert body["hint"] == body["secretText"][:3] and body["endDateTime"] == "2026-12-31T00:00:00Z"
    assert body["keyId"] and body["startDateTime"] and body["displayName"] == "rotated"
    listed = api.graph(f"/v1.0/applications/{app}").json()["passwordCredentials"]
    assert [c["keyId"] for c in listed][-1] == body["keyId"] and all(c["secretText"] is None for c in listed)
    assert api.graph(f"/v1.0/applications/{app}/removePassword", method="POST", json={"keyId": body["keyId"]}).status_code == 204
    assert body["keyId"] not in [c["keyId"] for c in api.graph(f"/v1.0/applications/{app}").json()["passwordCredentials"]]
    assert api.graph(f"/v1.0/applications/{app}/removePassword", method="POST", json={"keyId": body["keyId"]}).status_code == 400


def test_unknown_application_is_404(demo):
    assert demo.graph("/v1.0/applications(appId='00000000-0000-0000-0000-000000000000')").status_code == 404


# -- permissions and tokens ------------------------------------------------------------------


def forbidden(response):
    return response.status_code == 403 and response.json()["error"] == {
        **response.json()["error"], "code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation."}


def test_roles_in_the_token_decide_what_graph_allows(api_for):
    api = api_for(make_scenario(users=2, roles=["GroupMember.Read.All"]))
    group = api.sandbox.state()["entra"]["groups"][0]["id"]
    assert api.graph(f"/v1.0/groups/{group}").status_code == 200
    assert api.graph(f"/v1.0/groups/{group}/members?$select=id").status_code == 200
    assert forbidden(api.graph(f"/v1.0/groups/{group}/members"))
    assert forbidden(api.graph(f"/v1.0/groups/{group}/members/microsoft.graph.user?$select=id,mail"))
    assert forbidden(api.graph("/v1.0/users"))
    assert forbidden(api.graph("/v1.0/users/delta"))
    assert forbidden(api.graph(f"/v1.0/applications/{api.vars['entra_app_object_id']}"))


def test_without_group_roles_groups_and_group_delta_are_forbidden(api_for):
    api = api_for(make_scenario(users=1, roles=["User.Read.All"]))
    group = api.sandbox.state()["entra"]["groups"][0]["id"]
    assert forbidden(api.graph(f"/v1.0/groups/{group}/members"))
    assert forbidden(api.graph(f"/v1.0/groups/delta?$filter=id eq '{group}'"))
    assert api.graph("/v1.0/users").status_code == 200


@pytest.mark.parametrize("token", ["", "garbage", "wrong-key"])
def test_missing_malformed_or_foreign_tokens_are_401(demo, token):
    if token == "wrong-key":
        token = jwt.encode({"exp": int(time.time()) + 600, "roles": ["Directory.Read.All"], "tid": demo.vars["entra_tenant_id"]},
                           "another key that Entra never used", algorithm="HS256")
    response = demo.request("GET", demo.vars["entra_graph_url"] + "/v1.0/users", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and response.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_an_expired_token_is_401(api_for):
    api = api_for(make_scenario(users=1, entra={"token_lifetime_seconds": 1}))
    token = api.graph_token()
    assert api.graph("/v1.0/users", token=token).status_code == 200
    time.sleep(2.1)
    response = api.graph("/v1.0/users", token=token)
    assert response.status_code == 401 and "expired" in response.json()["error"]["message"]


def test_throttling_fault_has_graph_shape_and_fractional_retry_after(demo):
    demo.sandbox.faults([{"service": "graph", "path": r"/users\b", "status": 429, "headers": {"Retry-After": "2.128"}}])
    throttled = demo.graph("/v1.0/users")
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "2.128"
    assert throttled.json()["error"]["code"] == "TooManyRequests"
    assert demo.graph("/v1.0/users").status_code == 200
