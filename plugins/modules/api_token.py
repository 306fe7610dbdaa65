#!/usr/bin/python
# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: api_token
short_description: List, create and revoke Coconut API tokens
version_added: 0.1.0
description:
  - Manages the API tokens of a Coconut site.
  - Every run (and a run without O(state), which only lists) returns every token's id, name and creation time (Coconut
    never lists values) and which one the module signs in with.
  - O(state=present) creates a new token, proves it (a staff read, and Coconut naming it as the caller), and returns
    its value as RV(token). If the proof fails, the new token is revoked again and the task fails, naming the step.
    The whole result is hidden from every output, at any verbosity, because it holds a secret; use it through the
    registered variable.
  - O(state=absent) revokes the token O(id). It refuses to revoke the token the module itself signs in with.
  - This is the building block of C(rotate_token.yml); see that playbook for a rotation with no downtime.
author:
  - coconut.entra contributors (@coconut-entra)
extends_documentation_fragment:
  - coconut.entra.entra
  - coconut.entra.coconut
  - coconut.entra.tls
  - coconut.entra.attributes
  - coconut.entra.rotation_step
attributes:
  check_mode:
    support: full
    details:
      - Check mode lists the tokens and predicts the change; it creates and revokes nothing and returns no token.
  diff_mode:
    support: none
    details:
      - Tokens are never shown in a diff.
options:
  state:
    description:
      - Not set, the module only lists the tokens. V(present) creates a new token (every run creates one; it is not
        idempotent). V(absent) revokes the token O(id).
    type: str
    choices: [present, absent]
  name:
    description: The new token's name (O(state=present)). When not given, C(coconut.entra) and the UTC date and time.
    type: str
  id:
    description: The id of the token to revoke (O(state=absent)). An id Coconut does not know is not an error.
    type: str
  verify:
    description: With O(state=present), prove the new token before returning it (and revoke it if the proof fails).
    type: bool
    default: true
seealso:
  - module: coconut.entra.credentials_file
  - module: coconut.entra.entra_app_secret
"""

EXAMPLES = r"""
- name: Create a new token; the result is hidden, the registered variable holds it
  coconut.entra.api_token:
    coconut_url: https://mapleridge.coconutcalendar.com
    coconut_api_token: "{{ coconut_api_token }}"
    state: present
  register: new_token

- name: Revoke the old token, signed in with the new one
  coconut.entra.api_token:
    coconut_url: https://mapleridge.coconutcalendar.com
    coconut_api_token: "{{ new_token.token }}"
    state: absent
    id: "{{ new_token.replaces_id }}"
"""

RETURN = r"""
tokens:
  description: The site's API tokens after the task (predicted in check mode), without values.
  returned: always
  type: list
  elements: dict
  sample: [{id: "t1", name: coconut.entra 2026-05-01T10:00:00Z, created_at: "2026-05-01T10:00:00Z", current: true}]
current_id:
  description: The id of the token the module signed in with.
  returned: always
  type: str
id:
  description: The id of the token created (O(state=present)) or revoked (O(state=absent)).
  returned: when O(state=present) or O(state=absent), not in check mode for present
  type: str
token:
  description:
    - The new token's value (O(state=present)), shown only here, once. The whole task result is hidden from output
      because of it; reach it through the registered variable and store it at once.
  returned: when O(state=present), not in check mode
  type: str
replaces_id:
  description: With O(state=present), the id of the token in use when it was created (the one a rotation revokes at its end).
  returned: when O(state=present)
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.coconut.entra.plugins.module_utils.common import coconut_argument_spec, coconut_client_from_params, entra_argument_spec
from ansible_collections.coconut.entra.plugins.module_utils.rotation import manage_api_tokens
from ansible_collections.coconut.entra.plugins.module_utils.runner import run_guarded


def main():
    argument_spec = dict(
        state=dict(type="str", choices=["present", "absent"]),
        name=dict(type="str"),
        id=dict(type="str"),
        verify=dict(type="bool", default=True),
        rotation_step=dict(type="str"),
        undo_error=dict(type="str"),
    )
    argument_spec.update(entra_argument_spec())  # accepted and ignored, for module_defaults group/coconut.entra.all
    argument_spec.update(coconut_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True, required_if=[("state", "absent", ["id"])])
    p = module.params

    def with_token(value):
        return coconut_client_from_params(dict(p, coconut_api_token=value))

    def manage():
        return manage_api_tokens(coconut_client_from_params(module), with_token, state=p["state"], name=p["name"], token_id=p["id"],
                                 verify=p["verify"], check_mode=module.check_mode, step=p["rotation_step"], undo_error=p["undo_error"])

    module.exit_json(**run_guarded(module, manage, libraries=("requests",)))


if __name__ == "__main__":
    main()
