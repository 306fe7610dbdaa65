# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options of every module that talks to Microsoft Entra ID and Microsoft Graph.

Kept equal to ``entra_argument_spec()`` in ``plugins/module_utils/common.py`` (its TLS options are in ``tls``); the
validate-modules sanity test compares the two for every module that uses them.
"""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  entra_tenant_id:
    description:
      - The Directory (tenant) ID of the Entra tenant, a GUID, or the tenant's domain such as C(contoso.onmicrosoft.com).
      - If not set, the value of the E(ENTRA_TENANT_ID) environment variable is used.
      - Required by every module that talks to Entra ID. Modules that do not talk to it accept it and ignore it, so that
        C(module_defaults) for C(group/coconut.entra.all) can set it once for all of them.
    type: str
  entra_client_id:
    description:
      - The Application (client) ID of the app registration the collection signs in as.
      - If not set, the value of the E(ENTRA_CLIENT_ID) environment variable is used.
      - Required by every module that talks to Entra ID. Modules that do not talk to it accept it and ignore it, so that
        C(module_defaults) for C(group/coconut.entra.all) can set it once for all of them.
    type: str
  entra_client_secret:
    description:
      - A client secret of the app registration (its Value, not its Secret ID).
      - Give either this or O(entra_client_certificate) with O(entra_client_private_key).
      - If not set, the value of the E(ENTRA_CLIENT_SECRET) environment variable is used (an empty one counts as not set).
    type: str
  entra_client_certificate:
    description:
      - The certificate (PEM text, C(-----BEGIN CERTIFICATE-----)) uploaded to the app registration, for
        certificate credentials. Requires O(entra_client_private_key).
      - If not set, the value of the E(ENTRA_CLIENT_CERTIFICATE) environment variable is used (an empty one counts as not set).
    type: str
  entra_client_private_key:
    description:
      - The private key (PEM text) of O(entra_client_certificate).
      - If not set, the value of the E(ENTRA_CLIENT_PRIVATE_KEY) environment variable is used (an empty one counts as not set).
    type: str
  entra_authority_host:
    description:
      - The Entra login endpoint of the cloud the tenant lives in, for example C(https://login.microsoftonline.us)
        for US Government.
      - If not set, the value of the E(ENTRA_AUTHORITY_HOST) environment variable is used.
    type: str
    default: https://login.microsoftonline.com
  entra_graph_url:
    description:
      - The Microsoft Graph endpoint of the cloud the tenant lives in, for example C(https://graph.microsoft.us).
      - If not set, the value of the E(ENTRA_GRAPH_URL) environment variable is used.
    type: str
    default: https://graph.microsoft.com
notes:
  - Entra credentials are either O(entra_client_secret), or O(entra_client_certificate) together with
    O(entra_client_private_key); giving both kinds is an error, including when one of them comes from an
    environment variable.
  - O(entra_client_secret) and O(entra_client_private_key) are never returned, shown in a diff, or logged, at any verbosity.
attributes:
  action_group:
    description: Use C(group/coconut.entra.all) in C(module_defaults) to set the connection options once for all modules.
    support: full
    membership:
      - coconut.entra.all
"""
