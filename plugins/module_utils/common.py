# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The connection options every module shares, and the clients built from them.

The specs here and the doc fragments ``coconut.entra.entra`` / ``coconut.entra.coconut``
describe the same options; validate-modules fails when they drift apart.
"""

from __future__ import annotations

import os

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.errors import AnsibleFallbackNotFound

DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"
DEFAULT_GRAPH_URL = "https://graph.microsoft.com"
DEFAULT_TIMEOUT = 30


def _tls_argument_spec():
    return dict(
        ca_path=dict(type="path"),
        validate_certs=dict(type="bool", default=True),
        timeout=dict(type="int", default=DEFAULT_TIMEOUT),
    )


def _credential_env_fallback(*names):
    """Like env_fallback, but an empty variable counts as not set: an AWX credential injects every variable of its
    type, the ones left empty too, and an empty secret next to a certificate would make them mutually exclusive."""
    for name in names:
        if os.environ.get(name):
            return os.environ[name]
    raise AnsibleFallbackNotFound


def entra_argument_spec():
    """Options for the Entra side (login + Graph), plus the TLS options."""
    spec = dict(
        entra_tenant_id=dict(type="str", fallback=(env_fallback, ["ENTRA_TENANT_ID"])),
        entra_client_id=dict(type="str", fallback=(env_fallback, ["ENTRA_CLIENT_ID"])),
        entra_client_secret=dict(type="str", no_log=True, fallback=(_credential_env_fallback, ["ENTRA_CLIENT_SECRET"])),
        entra_client_certificate=dict(type="str", fallback=(_credential_env_fallback, ["ENTRA_CLIENT_CERTIFICATE"])),
        entra_client_private_key=dict(type="str", no_log=True, fallback=(_credential_env_fallback, ["ENTRA_CLIENT_PRIVATE_KEY"])),
        entra_authority_host=dict(type="str", default=DEFAULT_AUTHORITY_HOST, fallback=(env_fallback, ["ENTRA_AUTHORITY_HOST"])),
        entra_graph_url=dict(type="str", default=DEFAULT_GRAPH_URL, fallback=(env_fallback, ["ENTRA_GRAPH_URL"])),
    )
    spec.update(_tls_argument_spec())
    return spec


def coconut_argument_spec():
    """Options for the Coconut side, plus the TLS options."""
    spec = dict(
        coconut_url=dict(type="str", fallback=(env_fallback, ["COCONUT_URL"])),
        coconut_api_token=dict(type="str", no_log=True, fallback=(env_fallback, ["COCONUT_API_TOKEN"])),
    )
    spec.update(_tls_argument_spec())
    return spec


# One Entra credential: a secret, or a certificate with its key.
ENTRA_MUTUALLY_EXCLUSIVE = [
    ("entra_client_secret", "entra_client_certificate"),
    ("entra_client_secret", "entra_client_private_key"),
]
ENTRA_REQUIRED_TOGETHER = [("entra_client_certificate", "entra_client_private_key")]
ENTRA_REQUIRED_ONE_OF = [("entra_client_secret", "entra_client_certificate")]


def entra_credential_rules():
    """Keyword arguments for AnsibleModule: ``AnsibleModule(argument_spec=..., **entra_credential_rules())``.

    Fresh lists each call, so a module may extend them with its own rules.
    """
    return dict(
        mutually_exclusive=list(ENTRA_MUTUALLY_EXCLUSIVE),
        required_together=list(ENTRA_REQUIRED_TOGETHER),
        required_one_of=list(ENTRA_REQUIRED_ONE_OF),
    )


def _params(module_or_params):
    # Accept the AnsibleModule itself as well as its params: both spellings are in use.
    return getattr(module_or_params, "params", module_or_params)


def _require(p, names, side):
    """Every module accepts both sides' options (for module_defaults); the side a module talks to needs its own."""
    from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError

    missing = [name for name in names if not p.get(name)]
    if missing:
        raise CoconutEntraError("%s %s required to reach %s: set %s (inventory, -e, module_defaults, or the %s environment variable%s)"
                                % (", ".join(missing), "is" if len(missing) == 1 else "are", side,
                                   "it" if len(missing) == 1 else "them", ", ".join(name.upper() for name in missing),
                                   "" if len(missing) == 1 else "s"))


def entra_client_from_params(params, **http_options):
    """An EntraClient from the entra_* and TLS options (a module's params, or the module)."""
    from ansible_collections.coconut.entra.plugins.module_utils.entra import EntraClient

    p = _params(params)
    _require(p, ("entra_tenant_id", "entra_client_id"), "Entra ID")
    return EntraClient(
        tenant_id=p.get("entra_tenant_id"),
        client_id=p.get("entra_client_id"),
        client_secret=p.get("entra_client_secret"),
        client_certificate=p.get("entra_client_certificate"),
        client_private_key=p.get("entra_client_private_key"),
        authority_host=p.get("entra_authority_host") or DEFAULT_AUTHORITY_HOST,
        graph_url=p.get("entra_graph_url") or DEFAULT_GRAPH_URL,
        ca_path=p.get("ca_path"),
        validate_certs=p.get("validate_certs", True) is not False,
        timeout=p.get("timeout") or DEFAULT_TIMEOUT,
        **http_options,
    )


def coconut_client_from_params(params, **http_options):
    """A CoconutClient from the coconut_* and TLS options (a module's params, or the module)."""
    from ansible_collections.coconut.entra.plugins.module_utils.coconut import CoconutClient

    p = _params(params)
    _require(p, ("coconut_url", "coconut_api_token"), "Coconut")
    return CoconutClient(
        url=p.get("coconut_url"),
        api_token=p.get("coconut_api_token"),
        ca_path=p.get("ca_path"),
        validate_certs=p.get("validate_certs", True) is not False,
        timeout=p.get("timeout") or DEFAULT_TIMEOUT,
        **http_options,
    )
