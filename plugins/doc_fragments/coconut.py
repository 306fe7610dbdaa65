# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options of every module that talks to the Coconut API.

Kept equal to ``coconut_argument_spec()`` in ``plugins/module_utils/common.py`` (its TLS options are in ``tls``); the
validate-modules sanity test compares the two for every module that uses them.
"""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  coconut_url:
    description:
      - The Coconut site, for example C(https://mybank.coconutcalendar.com).
      - If not set, the value of the E(COCONUT_URL) environment variable is used.
      - Required by every module that talks to Coconut. Modules that do not talk to it accept it and ignore it, so that
        C(module_defaults) for C(group/coconut.entra.all) can set it once for all of them.
    type: str
  coconut_api_token:
    description:
      - An API token issued in Coconut, sent as a bearer token.
      - If not set, the value of the E(COCONUT_API_TOKEN) environment variable is used.
      - Required by every module that talks to Coconut. Modules that do not talk to it accept it and ignore it, so that
        C(module_defaults) for C(group/coconut.entra.all) can set it once for all of them.
    type: str
notes:
  - O(coconut_api_token) is never returned, shown in a diff, or logged, at any verbosity.
attributes:
  action_group:
    description: Use C(group/coconut.entra.all) in C(module_defaults) to set the connection options once for all modules.
    support: full
    membership:
      - coconut.entra.all
"""
