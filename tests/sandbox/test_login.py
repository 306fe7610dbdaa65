"""Entra login as msal sees it: discovery, secrets, certificates, and the AADSTS errors."""

import datetime
import time

import jwt
import msal
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from sandbox.client import make_scenario


def msal_app(api, credential, client_id=None, tenant=None):
    session = requests.Session()
    session.trust_env = False
    send = session.request
    session.request = lambda *a, **kw: send(*a, **{**kw, "verify": api.sandbox.ca_path})
    return msal.ConfidentialClientApplication(
        client_id or api.vars["entra_client_id"], client_credential=credential,
        authority=f"{api.vars['entra_authority_host']}/{tenant or api.vars['entra_tenant_id']}",
        instance_discovery=False, http_client=session)


def acquire(app):
    return app.acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])


def make_certificate(name="coconut-sync"):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365)).sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    return key_pem, cert.public_bytes(serialization.Encoding.PEM).decode(), cert.fingerprint(hashes.SHA1()).hex()  # noqa: S303


def cert_credential(key_pem, cert_pem, thumbprint):
    return {"private_key": key_pem, "thumbprint": thumbprint, "public_certificate": cert_pem}


def claims_of(token):
    return jwt.decode(token, options={"verify_signature": False})


def test_msal_gets_a_token_with_a_secret_and_it_carries_the_app_roles(api):
    result = acquire(msal_app(api, api.vars["entra_client_secret"]))
    assert result["token_type"] == "Bearer" and result["expires_in"] == 3599
    claims = claims_of(result["access_token"])
    assert claims["appid"] == api.vars["entra_client_id"] and claims["tid"] == api.vars["entra_tenant_id"]
    assert set(claims["roles"]) == {"GroupMember.Read.All", "User.Read.All", "Application.ReadWrite.OwnedBy"}


def test_token_answer_has_the_entra_fields(api):
    body = api.login().json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == body["ext_expires_in"] == 3599 and body["access_token"]


def test_openid_configuration_names_the_token_endpoint(api):
    response = api.request("GET", f"{api.vars['entra_authority_host']}/{api.vars['entra_tenant_id']}/v2.0/.well-known/openid-configuration")
    assert response.status_code == 200
    body = response.json()
    assert body["token_endpoint"] == api.token_url()
    assert body["issuer"].startswith(api.vars["entra_authority_host"]) and body["authorization_endpoint"]


def test_msal_gets_a_token_with_a_registered_certificate(api_for):
    key_pem, cert_pem, thumbprint = make_certificate()
    api = api_for(make_scenario(certificates=[cert_pem]))
    result = acquire(msal_app(api, cert_credential(key_pem, cert_pem, thumbprint)))
    assert "access_token" in result, result
    assert claims_of(result["access_token"])["appid"] == api.vars["entra_client_id"]


def test_certificate_not_registered_is_refused_with_700027(api_for):
    _unused, registered, _unused = make_certificate("registered")
    key_pem, cert_pem, thumbprint = make_certificate("other")
    api = api_for(make_scenario(certificates=[registered]))
    result = acquire(msal_app(api, cert_credential(key_pem, cert_pem, thumbprint)))
    assert result["error"] == "invalid_client" and result["error_codes"] == [700027]


def test_assertion_for_another_audience_is_refused(api_for):
    key_pem, cert_pem, _unused = make_certificate()
    api = api_for(make_scenario(certificates=[cert_pem]))
    now = int(time.time())
    claims = {"aud": "https://login.microsoftonline.com/x/oauth2/v2.0/token", "iss": api.vars["entra_client_id"],
              "sub": api.vars["entra_client_id"], "exp": now + 600, "nbf": now, "jti": "1"}
    assertion = jwt.encode(claims, key_pem, algorithm="RS256")
    response = api.request("POST", api.token_url(), data={
        "grant_type": "client_credentials", "scope": "https://graph.microsoft.com/.default", "client_id": api.vars["entra_client_id"],
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion": assertion})
    assert response.status_code == 401 and response.json()["error_codes"] == [700027]


def test_wrong_secret_is_7000215_with_the_full_error_body(api):
    response = api.login(secret="0d2c-the-secret-id-not-its-value")
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "invalid_client" and body["error_codes"] == [7000215]
    assert body["error_description"].startswith("AADSTS7000215: ")
    assert {"timestamp", "trace_id", "correlation_id", "error_uri"} <= set(body)


def test_msal_reports_wrong_secret(api):
    result = acquire(msal_app(api, "not-the-secret"))
    assert result["error"] == "invalid_client" and 7000215 in result["error_codes"]


def test_expired_secret_is_7000222(api_for):
    api = api_for(make_scenario(secret_end="2020-01-01T00:00:00Z"))
    response = api.login()
    assert response.status_code == 401 and response.json()["error_codes"] == [7000222]


def test_unknown_app_is_700016(api):
    response = api.login(client_id="11111111-2222-3333-4444-555555555555")
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client" and response.json()["error_codes"] == [700016]


def test_unknown_tenant_is_90002_on_discovery_and_token(api):
    tenant = "99999999-9999-9999-9999-999999999999"
    discovery = api.request("GET", f"{api.vars['entra_authority_host']}/{tenant}/v2.0/.well-known/openid-configuration")
    token = api.login(tenant=tenant)
    for response in (discovery, token):
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_tenant" and response.json()["error_codes"] == [90002]


def test_missing_credential_and_bad_scope_are_refused(api):
    form = {"grant_type": "client_credentials", "client_id": api.vars["entra_client_id"], "scope": "https://graph.microsoft.com/.default"}
    no_credential = api.request("POST", api.token_url(), data=form)
    bad_scope = api.login(scope="User.Read")
    assert no_credential.status_code == 401 and no_credential.json()["error_codes"] == [7000216]
    assert bad_scope.status_code == 400 and bad_scope.json()["error"] == "invalid_scope"


def test_token_lifetime_comes_from_the_scenario(api_for):
    api = api_for(make_scenario(entra={"token_lifetime_seconds": 42}))
    body = api.login().json()
    claims = claims_of(body["access_token"])
    assert body["expires_in"] == 42 and claims["exp"] - claims["iat"] == 42


def test_a_new_secret_is_refused_until_it_has_propagated(api_for):
    api = api_for(make_scenario(entra={"secret_propagation_seconds": 1.5}))
    app = api.vars["entra_app_object_id"]
    added = api.graph(f"/v1.0/applications/{app}/addPassword", method="POST", json={"passwordCredential": {"displayName": "next"}}).json()
    early = api.login(secret=added["secretText"])
    assert early.status_code == 401 and early.json()["error_codes"] == [7000215]
    assert api.login().status_code == 200  # the old secret keeps working meanwhile
    time.sleep(1.6)
    assert api.login(secret=added["secretText"]).status_code == 200


def test_a_removed_secret_no_longer_logs_in(api):
    app = api.vars["entra_app_object_id"]
    added = api.graph(f"/v1.0/applications/{app}/addPassword", method="POST", json={}).json()
    assert api.login(secret=added["secretText"]).status_code == 200
    assert api.graph(f"/v1.0/applications/{app}/removePassword", method="POST", json={"keyId": added["keyId"]}).status_code == 204
    assert api.login(secret=added["secretText"]).json()["error_codes"] == [7000215]


@pytest.mark.parametrize("status", [429, 503])
def test_a_login_fault_without_body_answers_in_entra_shape(api, status):
    api.sandbox.faults([{"service": "login", "method": "POST", "path": "/token", "status": status, "headers": {"Retry-After": "1"}}])
    response = api.login()
    assert response.status_code == status and response.headers["Retry-After"] == "1"
    assert response.json()["error_codes"] and response.json()["error_description"].startswith("AADSTS")
    assert api.login().status_code == 200
