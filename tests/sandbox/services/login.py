"""Entra login as msal sees it: OpenID configuration and client-credential tokens."""

import re
import secrets
import time

import jwt
from cryptography import x509

from .common import Reply, login_error, now_utc, parse_iso


class LoginService:
    """Entra login: a mixin of Sandbox."""

    def login(self, method, path, form):
        host = self.urls["login"]
        match = re.fullmatch(r"/([^/]+)/(v2\.0/\.well-known/openid-configuration|oauth2/v2\.0/token)", path)
        if not match:
            raise login_error(404, "invalid_request", 900561, f"The endpoint {path} does not exist.", host)
        tenant, what = match.groups()
        if tenant != self.entra["tenant_id"]:
            raise login_error(400, "invalid_tenant", 90002,
                              f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", host)
        token_endpoint = f"{host}/{tenant}/oauth2/v2.0/token"
        if what.startswith("v2.0"):
            if method != "GET":
                raise login_error(405, "invalid_request", 900561, "Use GET.", host)
            raise Reply(200, {"token_endpoint": token_endpoint, "authorization_endpoint": f"{host}/{tenant}/oauth2/v2.0/authorize",
                              "issuer": f"{host}/{tenant}/v2.0", "jwks_uri": f"{host}/{tenant}/discovery/v2.0/keys",
                              "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
                              "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                              "tenant_region_scope": "NA", "cloud_instance_name": "sandbox"})
        if method != "POST":
            raise login_error(405, "invalid_request", 900561, "The token endpoint only accepts POST.", host)
        return self.issue_token(form, token_endpoint, host)

    def issue_token(self, form, token_endpoint, host):
        if form.get("grant_type") != "client_credentials":
            raise login_error(400, "unsupported_grant_type", 70003, f"The app requested an unsupported grant type '{form.get('grant_type')}'.", host)
        client_id = form.get("client_id", "")
        if not form.get("scope", "").endswith("/.default"):
            raise login_error(400, "invalid_scope", 1002012,
                              (f"The provided value for scope {form.get('scope')} is not valid. Client credential flows must have a "
                               "scope value with /.default suffixed to the resource identifier (application ID URI)."), host)
        assertion = form.get("client_assertion")
        if not client_id and assertion:
            try:
                client_id = jwt.decode(assertion, options={"verify_signature": False}).get("iss", "")
            except jwt.PyJWTError:
                client_id = ""
        app = next((a for a in self.entra["applications"] if a["app_id"] == client_id), None)
        if app is None:
            raise login_error(400, "unauthorized_client", 700016,
                              (f"Application with identifier '{client_id}' was not found in the directory '{self.entra['tenant_id']}'. "
                               "This can happen if the application has not been installed by the administrator of the tenant or consented "
                               "to by any user in the tenant. You may have sent your authentication request to the wrong tenant."), host)
        if "client_secret" in form:
            self.check_secret(app, form["client_secret"], host)
        elif assertion:
            if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
                raise login_error(400, "invalid_request", 700232, "Unsupported client_assertion_type.", host)
            self.check_assertion(app, assertion, token_endpoint, host)
        else:
            raise login_error(401, "invalid_client", 7000216,
                              "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.", host)
        lifetime = int(self.entra["token_lifetime_seconds"])
        now = int(time.time())
        claims = {"aud": "https://graph.microsoft.com", "iss": f"https://sts.windows.net/{self.entra['tenant_id']}/",
                  "iat": now, "nbf": now, "exp": now + lifetime, "appid": app["app_id"], "tid": self.entra["tenant_id"],
                  "roles": list(app.get("roles") or []), "sub": app["id"], "oid": app["id"], "uti": secrets.token_urlsafe(12)}
        token = jwt.encode(claims, self.token_key, algorithm="HS256")
        raise Reply(200, {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": token})

    def check_secret(self, app, text, host):
        now = now_utc()
        for secret in app.get("secrets") or []:
            if not secrets.compare_digest(str(secret.get("text")).encode(), str(text).encode()):
                continue
            if secret.get("end") and parse_iso(secret["end"]) <= now:
                raise login_error(401, "invalid_client", 7000222,
                                  (f"The provided client secret keys for app '{app['app_id']}' are expired. Visit the Azure portal to create "
                                   "new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for "
                                   "added security: https://aka.ms/certCreds."), host)
            delay = float(self.entra.get("secret_propagation_seconds") or 0)
            if secret.get("start") and (now - parse_iso(secret["start"])).total_seconds() < delay:
                break  # not replicated yet: answers like a wrong secret, as Entra does
            return
        raise login_error(401, "invalid_client", 7000215,
                          ("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, "
                           f"not the client secret ID, for a secret added to app '{app['app_id']}'."), host)

    def check_assertion(self, app, assertion, token_endpoint, host):
        failure = "no certificate is registered for the application"
        for pem in app.get("certificates") or []:
            try:
                key = x509.load_pem_x509_certificate(pem.encode() if isinstance(pem, str) else pem).public_key()
                claims = jwt.decode(assertion, key, algorithms=["RS256", "PS256"], audience=token_endpoint,
                                    options={"require": ["exp", "aud", "iss", "sub"]}, leeway=300)
            except jwt.ExpiredSignatureError:
                raise login_error(401, "invalid_client", 700024, "Client assertion is not within its valid time range.", host) from None
            except jwt.InvalidAudienceError:
                failure = f"the audience must be {token_endpoint}"
                continue
            except (jwt.PyJWTError, ValueError) as exc:
                failure = str(exc)
                continue
            if claims.get("iss") != app["app_id"] or claims.get("sub") != app["app_id"]:
                raise login_error(401, "invalid_client", 700021, "Client assertion application identifier doesn't match 'client_id' parameter.", host)
            return
        raise login_error(401, "invalid_client", 700027, f"Client assertion failed signature validation ({failure}).", host)
