"""Helpers for the sandbox's own tests: raw HTTPS against each listener, with the sandbox's CA."""

import pytest
import requests

from sandbox.client import load_demo_scenario, start


class Api:
    """Plain requests against a running sandbox (verify= the sandbox CA on every request)."""

    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.vars = sandbox.vars
        self.session = requests.Session()
        self.session.trust_env = False
        self._graph_token = None

    def request(self, method, url, **kwargs):
        kwargs.setdefault("timeout", 30)
        return self.session.request(method, url, verify=self.sandbox.ca_path, **kwargs)

    # -- login -------------------------------------------------------------------------------

    def token_url(self, tenant=None):
        return f"{self.vars['entra_authority_host']}/{tenant or self.vars['entra_tenant_id']}/oauth2/v2.0/token"

    def login(self, secret=None, client_id=None, tenant=None, **form):
        data = {"grant_type": "client_credentials", "scope": "https://graph.microsoft.com/.default",
                "client_id": client_id or self.vars["entra_client_id"],
                "client_secret": self.vars["entra_client_secret"] if secret is None else secret, **form}
        return self.request("POST", self.token_url(tenant), data=data)

    def graph_token(self, fresh=False):
        if self._graph_token is None or fresh:
            response = self.login()
            assert response.status_code == 200, response.text
            self._graph_token = response.json()["access_token"]
        return self._graph_token

    # -- graph and coconut ------------------------------------------------------------------

    def graph(self, path, method="GET", token=None, **kwargs):
        url = path if path.startswith("https://") else self.vars["entra_graph_url"] + path
        headers = {"Authorization": f"Bearer {token or self.graph_token()}", **kwargs.pop("headers", {})}
        return self.request(method, url, headers=headers, **kwargs)

    def graph_all(self, path, **kwargs):
        """Every item of a paged Graph listing, following @odata.nextLink; returns (items, pages)."""
        items, pages, url = [], 0, path
        while url:
            response = self.graph(url, **kwargs)
            assert response.status_code == 200, response.text
            body = response.json()
            items += body["value"]
            pages += 1
            url = body.get("@odata.nextLink")
        return items, pages, body

    def coconut(self, path, method="GET", token=None, bulk=False, **kwargs):
        url = path if path.startswith("https://") else self.vars["coconut_url"] + path
        headers = {"Authorization": f"Bearer {token or self.vars['coconut_api_token']}",
                   "Content-Type": "application/vnd.api+json" + ("; ext=bulk" if bulk else ""), **kwargs.pop("headers", {})}
        return self.request(method, url, headers=headers, **kwargs)


@pytest.fixture
def api(sandbox):
    return Api(sandbox)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A demo sandbox shared by the read-only tests of a module."""
    running = start(load_demo_scenario(), tmp_path_factory.mktemp("demo"))
    yield Api(running)
    running.stop()


@pytest.fixture
def api_for(start_sandbox):
    """Factory: a scenario dict -> an Api on a freshly started sandbox."""
    return lambda scenario, **kwargs: Api(start_sandbox(scenario, **kwargs))
