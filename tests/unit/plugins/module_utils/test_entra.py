"""EntraClient against the sandbox: real msal (secret and certificate), AADSTS errors, Graph paging,
group resolution, token refresh, permissions, the app registration calls."""

from __future__ import annotations

import copy
import datetime
import re

import pytest
import trustme

from ansible_collections.coconut.entra.plugins.module_utils.entra import EntraClient
from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError

TENANT = "0b8a3d8e-1111-4a4a-8b8b-000000000001"
APP_ID = "3c1e0000-2222-4a4a-8b8b-000000000002"
APP_OBJECT_ID = "9a7d0000-3333-4a4a-8b8b-000000000003"
SECRET = "Zq8~sandbox-secret-value-not-to-be-shown"
SECRET_ID = "0d2c0000-4444-4a4a-8b8b-000000000004"
STAFF_GROUP = "5e6f0000-5555-4a4a-8b8b-000000000005"
ALL_ROLES = ["GroupMember.Read.All", "User.Read.All", "Application.ReadWrite.OwnedBy"]

CLIENT_CERT = trustme.CA().issue_cert("coconut-sync.example", key_type=trustme.KeyType.RSA)
CERT_PEM = CLIENT_CERT.cert_chain_pems[0].bytes().decode()
KEY_PEM = CLIENT_CERT.private_key_pem.bytes().decode()


def user(n, **extra):
    record = {"id": f"00000000-0000-4000-8000-{n:012d}", "displayName": f"User {n}", "givenName": "User", "surname": str(n),
              "mail": f"user{n}@contoso.example", "userPrincipalName": f"user{n}@contoso.example", "accountEnabled": True}
    record.update(extra)
    return record


def scenario(users=3, roles=None, groups=None, **app_extra):
    roles = ALL_ROLES if roles is None else roles
    people = [user(n) for n in range(1, users + 1)]
    app = {"app_id": APP_ID, "id": APP_OBJECT_ID, "roles": list(roles), "certificates": [CERT_PEM],
           "secrets": [{"key_id": SECRET_ID, "text": SECRET, "end": "2099-01-01T00:00:00Z"}]}
    app.update(app_extra)
    return {"entra": {"tenant_id": TENANT, "applications": [app], "users": people,
                      "groups": groups if groups is not None else [{"id": STAFF_GROUP, "displayName": "Coconut Staff",
                                                                    "members": [u["id"] for u in people]}]},
            "coconut": {"api_tokens": [{"id": "t1", "value": "coconut-token"}]}}


@pytest.fixture
def sandbox(module_sandbox):
    module_sandbox.reset(scenario())
    return module_sandbox


def entra(sandbox, waits=None, **overrides):
    options = dict(tenant_id=TENANT, client_id=APP_ID, client_secret=SECRET, authority_host=sandbox.vars["entra_authority_host"],
                   graph_url=sandbox.vars["entra_graph_url"], ca_path=sandbox.ca_path, sleep=(waits if waits is not None else []).append)
    options.update(overrides)
    return EntraClient(**options)


def graph_requests(sandbox, pattern=""):
    return [r for r in sandbox.requests() if r["service"] == "graph" and re.search(pattern, r["path"])]


def assert_secret_free(error):
    for secret in (SECRET, KEY_PEM, "PRIVATE KEY"):
        assert secret not in str(error) and secret not in repr(error.details)


# ---- login -------------------------------------------------------------------------------------


def test_token_with_a_client_secret(sandbox):
    client = entra(sandbox)
    assert client.token().count(".") == 2
    assert client.stats["login"]["requests"] == 2  # discovery + token
    client.token()
    assert client.stats["login"]["requests"] == 2  # msal's cache serves the second


def test_token_with_a_certificate(sandbox):
    client = entra(sandbox, client_secret=None, client_certificate=CERT_PEM, client_private_key=KEY_PEM)
    assert client.token()
    assert [r["status"] for r in sandbox.requests() if r["service"] == "login"] == [200, 200]


def test_a_wrong_requests_ca_bundle_does_not_break_login_or_graph(sandbox, tmp_path, monkeypatch):
    other = tmp_path / "other.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(other))
    assert entra(sandbox).resolve_groups([STAFF_GROUP])[0]["displayName"] == "Coconut Staff"


def test_login_tls_failure_says_to_set_ca_path(sandbox):
    with pytest.raises(CoconutEntraError, match=r"TLS certificate verification of Entra login .* set ca_path"):
        entra(sandbox, ca_path=None).token()


def test_wrong_secret_names_aadsts7000215_and_the_secret_id_mixup(sandbox):
    with pytest.raises(CoconutEntraError) as caught:
        entra(sandbox, client_secret=SECRET_ID).token()
    assert "AADSTS7000215" in caught.value.msg and "secret's ID was pasted instead of its Value" in caught.value.msg
    assert caught.value.details["aadsts"] == "AADSTS7000215"


def test_expired_secret_names_aadsts7000222_and_rotation(sandbox):
    expired = scenario()
    expired["entra"]["applications"][0]["secrets"][0]["end"] = "2020-01-01T00:00:00Z"
    sandbox.reset(expired)
    with pytest.raises(CoconutEntraError) as caught:
        entra(sandbox).token()
    assert "AADSTS7000222" in caught.value.msg and "rotate_token.yml" in caught.value.msg
    assert_secret_free(caught.value)


def test_unknown_application_names_aadsts700016(sandbox):
    with pytest.raises(CoconutEntraError) as caught:
        entra(sandbox, client_id="11111111-2222-4333-8444-555555555555").token()
    assert "AADSTS700016" in caught.value.msg and "entra_client_id" in caught.value.msg
    assert_secret_free(caught.value)


def test_unknown_tenant_names_aadsts90002(sandbox):
    with pytest.raises(CoconutEntraError) as caught:
        entra(sandbox, tenant_id="contoso.example").token()
    assert "AADSTS90002" in caught.value.msg and "entra_tenant_id" in caught.value.msg
    assert caught.value.details["aadsts"] == "AADSTS90002"


def test_unregistered_certificate_names_aadsts700027(sandbox):
    other = trustme.CA().issue_cert("someone-else.example", key_type=trustme.KeyType.RSA)
    with pytest.raises(CoconutEntraError) as caught:
        entra(sandbox, client_secret=None, client_certificate=other.cert_chain_pems[0].bytes().decode(),
              client_private_key=other.private_key_pem.bytes().decode()).token()
    assert "AADSTS700027" in caught.value.msg and "upload this certificate" in caught.value.msg
    assert "PRIVATE KEY" not in str(caught.value)


def test_an_ec_key_is_refused_as_entra_wants_rsa(sandbox):
    ec = trustme.CA().issue_cert("ec.example")
    key = ec.private_key_pem.bytes().decode()
    with pytest.raises(CoconutEntraError, match="not an RSA key") as caught:
        entra(sandbox, client_secret=None, client_certificate=ec.cert_chain_pems[0].bytes().decode(), client_private_key=key).token()
    assert key not in str(caught.value)


def test_certificate_and_key_that_do_not_belong_together_fail_without_showing_the_key(sandbox):
    other = trustme.CA().issue_cert("someone-else.example", key_type=trustme.KeyType.RSA)
    key = other.private_key_pem.bytes().decode()
    with pytest.raises(CoconutEntraError) as caught:
        entra(sandbox, client_secret=None, client_certificate=CERT_PEM, client_private_key=key).token()
    assert key not in str(caught.value) and "PRIVATE KEY" not in str(caught.value)


@pytest.mark.parametrize("options, message", [
    ({"tenant_id": "not a tenant"}, "neither a GUID nor a domain"),
    ({"client_id": "my-app"}, "entra_client_id 'my-app' is not a GUID"),
    ({"client_certificate": CERT_PEM, "client_private_key": KEY_PEM}, "exactly one Entra credential.*both"),
    ({"client_secret": None}, "exactly one Entra credential.*neither"),
    ({"client_secret": None, "client_certificate": "abc", "client_private_key": KEY_PEM}, "entra_client_certificate must be the certificate in PEM"),
    ({"authority_host": "http://login.example"}, "entra_authority_host must be an https:// URL"),
])
def test_inputs_are_checked_before_any_request(sandbox, options, message):
    with pytest.raises(CoconutEntraError, match=message) as caught:
        entra(sandbox, **options)
    assert_secret_free(caught.value)
    assert sandbox.requests() == []


def test_a_tenant_domain_is_accepted(sandbox):
    client = entra(sandbox, tenant_id="contoso.onmicrosoft.com")
    assert client.tenant_id == "contoso.onmicrosoft.com"


# ---- Graph -------------------------------------------------------------------------------------


def test_every_page_is_read_2500_members_in_3_requests(sandbox):
    sandbox.reset(scenario(users=2500))
    members = entra(sandbox).group_members(STAFF_GROUP, select=["givenName", "surname", "mail"])
    assert len(members) == 2500 and len({m["id"] for m in members}) == 2500
    assert members[0]["accountEnabled"] is True and "mail" in members[0]
    pages = graph_requests(sandbox, "/members/")
    assert len(pages) == 3
    assert "%24top=999" in pages[0]["path"] or "$top=999" in pages[0]["path"]


def test_transitive_members_follow_nesting_and_return_users_only(sandbox):
    people = [user(n) for n in range(1, 5)]
    nested = "7a000000-0000-4000-8000-000000000007"
    state = scenario()
    state["entra"]["users"] = people
    state["entra"]["groups"] = [{"id": STAFF_GROUP, "displayName": "Coconut Staff", "members": [people[0]["id"], nested]},
                                {"id": nested, "displayName": "Tellers", "members": [p["id"] for p in people[1:]]}]
    sandbox.reset(state)
    client = entra(sandbox)
    assert [m["id"] for m in client.group_members(STAFF_GROUP)] == [people[0]["id"]]
    assert sorted(m["id"] for m in client.group_members(STAFF_GROUP, transitive=True)) == sorted(p["id"] for p in people)


def test_paginate_follows_next_links_until_none(sandbox):
    sandbox.reset(scenario(users=250))
    assert len(list(entra(sandbox).paginate("users", {"$top": "100"}, permission="User.Read.All"))) == 250
    assert len(graph_requests(sandbox, "/users")) == 3


def test_groups_resolve_by_id_and_by_name_in_order(sandbox):
    groups = [{"id": STAFF_GROUP, "displayName": "Coconut Staff", "members": []},
              {"id": "6a000000-0000-4000-8000-000000000006", "displayName": "O'Brien's Team", "members": []}]
    sandbox.reset(scenario(groups=groups))
    resolved = entra(sandbox).resolve_groups(["O'Brien's Team", STAFF_GROUP])
    assert resolved == [{"id": groups[1]["id"], "displayName": "O'Brien's Team", "ref": "O'Brien's Team"},
                        {"id": STAFF_GROUP, "displayName": "Coconut Staff", "ref": STAFF_GROUP}]
    assert any("O''Brien''s Team" in r["path"] or "O%27%27Brien%27%27s" in r["path"] for r in graph_requests(sandbox))


def test_unknown_group_id_and_name_are_named(sandbox):
    client = entra(sandbox)
    with pytest.raises(CoconutEntraError, match="no Entra group with id 99999999-0000-4000-8000-000000000000"):
        client.resolve_groups(["99999999-0000-4000-8000-000000000000"])
    with pytest.raises(CoconutEntraError, match="no Entra group named 'Nobody Here'"):
        client.resolve_groups(["Nobody Here"])


def test_a_malformed_guid_is_looked_up_as_a_name(sandbox):
    with pytest.raises(CoconutEntraError, match="no Entra group named '5e6f0000-5555-4a4a-8b8b-00000000000'"):
        entra(sandbox).resolve_groups(["5e6f0000-5555-4a4a-8b8b-00000000000"])


def test_a_name_shared_by_several_groups_lists_their_ids(sandbox):
    twin = "6b000000-0000-4000-8000-000000000006"
    sandbox.reset(scenario(groups=[{"id": STAFF_GROUP, "displayName": "Tellers"}, {"id": twin, "displayName": "Tellers"}]))
    with pytest.raises(CoconutEntraError) as caught:
        entra(sandbox).resolve_groups(["Tellers"])
    assert STAFF_GROUP in caught.value.msg and twin in caught.value.msg and "object id" in caught.value.msg


def test_an_exact_case_match_wins_over_graphs_case_insensitive_eq(sandbox):
    other = "6c000000-0000-4000-8000-000000000006"
    sandbox.reset(scenario(groups=[{"id": STAFF_GROUP, "displayName": "Tellers"}, {"id": other, "displayName": "TELLERS"}]))
    assert entra(sandbox).resolve_groups(["TELLERS"])[0]["id"] == other


def test_a_401_refreshes_the_token_once_then_succeeds(sandbox):
    client = entra(sandbox)
    client.token()
    sandbox.faults([{"service": "graph", "path": "/groups/", "status": 401,
                     "body": {"error": {"code": "InvalidAuthenticationToken", "message": "Access token has expired or is not yet valid."}}}])
    assert client.resolve_groups([STAFF_GROUP])[0]["id"] == STAFF_GROUP
    logins = [r for r in sandbox.requests() if r["service"] == "login" and r["method"] == "POST"]
    assert len(logins) == 2  # the first token, then exactly one forced refresh
    assert [r["status"] for r in graph_requests(sandbox)] == [401, 200]


def test_a_second_401_is_an_error_not_a_loop(sandbox):
    sandbox.faults([{"service": "graph", "path": "/groups/", "status": 401, "times": 5,
                     "body": {"error": {"code": "InvalidAuthenticationToken", "message": "Invalid audience."}}}])
    with pytest.raises(CoconutEntraError, match="Microsoft Graph answered 401 InvalidAuthenticationToken"):
        entra(sandbox).resolve_groups([STAFF_GROUP])
    assert len(graph_requests(sandbox)) == 2


@pytest.mark.parametrize("roles, call, permission", [
    (["User.Read.All"], lambda c: c.resolve_groups([STAFF_GROUP]), "GroupMember.Read.All"),
    (["GroupMember.Read.All"], lambda c: c.group_members(STAFF_GROUP, select=["mail"]), "User.Read.All"),
    (["GroupMember.Read.All"], lambda c: c.check_permission("User.Read.All"), "User.Read.All"),
    (["GroupMember.Read.All", "User.Read.All"], lambda c: c.check_permission("Application.ReadWrite.OwnedBy"), "Application.ReadWrite.OwnedBy"),
])
def test_403_names_the_missing_permission_and_the_fix(sandbox, roles, call, permission):
    sandbox.reset(scenario(roles=roles))
    with pytest.raises(CoconutEntraError) as caught:
        call(entra(sandbox))
    assert "403 Authorization_RequestDenied" in caught.value.msg and permission in caught.value.msg
    assert "grant admin consent" in caught.value.msg
    assert_secret_free(caught.value)


def test_check_permission_proves_each_permission(sandbox):
    client = entra(sandbox)
    assert all(client.check_permission(name) for name in ALL_ROLES)
    with pytest.raises(CoconutEntraError, match="cannot check Graph permission 'Mail.Send'"):
        client.check_permission("Mail.Send")


def test_graph_429_with_fractional_retry_after_is_waited_out(sandbox):
    waits = []
    sandbox.faults([{"service": "graph", "path": "/members", "status": 429, "headers": {"Retry-After": "2.128"}, "times": 2,
                     "body": {"error": {"code": "TooManyRequests", "message": "Too many requests"}}}])
    assert len(entra(sandbox, waits).group_members(STAFF_GROUP)) == 3
    assert waits == [2.128, 2.128]


def test_login_503_is_retried(sandbox):
    waits = []
    sandbox.faults([{"service": "login", "method": "POST", "path": "/token", "status": 503, "headers": {"Retry-After": "1"}}])
    assert entra(sandbox, waits).token()
    assert waits == [1.0]


def test_application_secret_lifecycle(sandbox):
    client = entra(sandbox)
    assert client.get_application()["id"] == APP_OBJECT_ID
    assert client.get_application(object_id=APP_OBJECT_ID)["appId"] == APP_ID
    end = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=180)
    added = client.add_password(APP_OBJECT_ID, "rotated by coconut.entra", end)
    assert added["secretText"] and added["keyId"] and added["endDateTime"].startswith(end.strftime("%Y-%m-%d"))
    assert entra(sandbox, client_secret=added["secretText"]).token()
    assert client.remove_password(APP_OBJECT_ID, SECRET_ID) is True
    assert [c["keyId"] for c in client.get_application()["passwordCredentials"]] == [added["keyId"]]


def test_an_unknown_application_is_named(sandbox):
    with pytest.raises(CoconutEntraError, match="no Entra app registration 12345678-0000-4000-8000-000000000000"):
        entra(sandbox).get_application(object_id="12345678-0000-4000-8000-000000000000")


def test_no_secret_in_any_error(sandbox):
    errors = []
    for options in ({"client_secret": SECRET + "x"}, {"tenant_id": "nowhere.example"}, {"client_id": "11111111-2222-4333-8444-555555555555"}):
        with pytest.raises(CoconutEntraError) as caught:
            entra(sandbox, **options).token()
        errors.append(caught.value)
    for error in errors:
        assert_secret_free(error)
        assert SECRET + "x" not in str(error)


def test_scenario_helper_is_not_shared_state():
    assert scenario() == copy.deepcopy(scenario())


def test_an_unreachable_login_host_is_named_with_the_fix(sandbox):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(CoconutEntraError) as caught:
        entra(sandbox, authority_host=f"https://127.0.0.1:{port}", max_attempts=2).token()
    assert caught.value.msg.startswith(f"cannot reach Entra login at https://127.0.0.1:{port} while signing in to Entra")
    assert caught.value.msg.endswith("check the URL / network")
    assert_secret_free(caught.value)


def test_a_graph_query_error_carries_graphs_code_and_message(sandbox):
    with pytest.raises(CoconutEntraError) as caught:
        list(entra(sandbox).paginate("users", {"$top": "5000"}, permission="User.Read.All", what="listing users"))
    assert caught.value.msg.startswith("Microsoft Graph answered 400 Request_UnsupportedQuery while listing users: Invalid page size")
    assert caught.value.details["code"] == "Request_UnsupportedQuery"
