#!/usr/bin/python
# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: entra_app_secret
short_description: List, add and remove the client secrets of the Entra app registration
version_added: 0.1.0
description:
  - Manages the client secrets (password credentials) of a Microsoft Entra app registration through Microsoft Graph
    (C(addPassword), C(removePassword)). The app is found by O(app_object_id), or by its client id.
  - Every run (and a run without O(state), which only lists) returns every secret's key id, display name, hint and dates (never a value), marks the one this
    module signs in with, and warns about secrets that expire within O(expiry_warning_days) days.
  - O(state=present) adds a new secret, waits (bounded by O(wait_timeout)) until Entra login accepts it, and proves
    the Graph reads the sync needs with it. If waiting or proving fails, the new secret is removed again and the task
    fails, naming the step. The new secret's text is returned as RV(secret), and the whole result is hidden from
    every output, at any verbosity, because it holds a secret; use it through the registered variable.
  - O(state=absent) removes the secret with key id O(key_id). It refuses to remove the secret the module itself signs
    in with, which would lock the collection out.
  - This is the building block of C(rotate_token.yml); see that playbook for a rotation with no downtime.
  - The app needs the Graph application permission C(Application.ReadWrite.OwnedBy) and must be an owner of its own
    registration.
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
      - Check mode reads the app registration and predicts the change; it adds and removes nothing and returns no secret.
  diff_mode:
    support: none
    details:
      - Secrets are never shown in a diff.
options:
  state:
    description:
      - Not set, the module only lists the secrets. V(present) adds a new secret (every run adds one; it is not
        idempotent). V(absent) removes the secret O(key_id).
    type: str
    choices: [present, absent]
  app_object_id:
    description: The app registration's object id. When not given, the app is found by O(app_id).
    type: str
  app_id:
    description:
      - The app registration's application (client) id, when O(app_object_id) is not given.
      - When neither is given, the app is the one O(entra_client_id) names.
    type: str
  display_name:
    description: The display name of the new secret (O(state=present)). When not given, C(coconut.entra) and the UTC date and time.
    type: str
  lifetime_days:
    description: The new secret's lifetime in days (O(state=present)).
    type: int
    default: 180
  key_id:
    description: The key id of the secret to remove (O(state=absent)). A key id the app does not hold is not an error.
    type: str
  current_key_id:
    description:
      - The key id of the secret this module signs in with (O(entra_client_secret)).
      - When not given it is found by the secret's hint (its first characters, which Graph returns for each secret);
        give it when several secrets start alike. A given key id is checked against its hint.
    type: str
  require_current:
    description:
      - With O(state=present), fail before adding anything when the secret in use cannot be identified (so that a
        rotation knows which secret to remove at its end).
    type: bool
    default: false
  wait_timeout:
    description:
      - With O(state=present), how many seconds to wait at most for Entra login to accept the new secret (Entra takes
        seconds to replicate a new secret). V(0) does not wait and does not prove the Graph reads.
    type: int
    default: 120
  prove_permissions:
    description:
      - With O(state=present), the Graph application permissions to prove with the new secret, each by a real read
        that needs it. The default is what the sync needs.
    type: list
    elements: str
    choices: [GroupMember.Read.All, User.Read.All, Application.ReadWrite.OwnedBy]
    default: [GroupMember.Read.All, User.Read.All]
  expiry_warning_days:
    description: Warn about secrets that expire within this many days.
    type: int
    default: 30
seealso:
  - module: coconut.entra.credentials_file
  - module: coconut.entra.api_token
"""

EXAMPLES = r"""
- name: List the app's client secrets (warns about those expiring within 30 days)
  coconut.entra.entra_app_secret:
    entra_tenant_id: "{{ entra_tenant_id }}"
    entra_client_id: "{{ entra_client_id }}"
    entra_client_secret: "{{ entra_client_secret }}"
  register: app_secrets

- name: Add a secret valid for 90 days; the result is hidden, the registered variable holds it
  coconut.entra.entra_app_secret:
    entra_tenant_id: "{{ entra_tenant_id }}"
    entra_client_id: "{{ entra_client_id }}"
    entra_client_secret: "{{ entra_client_secret }}"
    state: present
    display_name: coconut.entra 2026-05
    lifetime_days: 90
    require_current: true
  register: new_secret

- name: Remove the old secret, signed in with the new one
  coconut.entra.entra_app_secret:
    entra_tenant_id: "{{ entra_tenant_id }}"
    entra_client_id: "{{ entra_client_id }}"
    entra_client_secret: "{{ new_secret.secret }}"
    state: absent
    key_id: "{{ new_secret.replaces_key_id }}"
"""

RETURN = r"""
app:
  description: The app registration.
  returned: always
  type: dict
  sample: {id: 9a7d0000-0000-4000-8000-000000000002, app_id: 3c1e0000-0000-4000-8000-000000000001, display_name: Coconut staff sync}
secrets:
  description: The app's client secrets after the task (predicted in check mode), without values, oldest expiry first.
  returned: always
  type: list
  elements: dict
  contains:
    key_id:
      description: The secret's key id (the Secret ID in the Entra admin center).
      type: str
    display_name:
      description: Its description.
      type: str
    hint:
      description: The first characters of its value, as Graph returns them.
      type: str
    start_datetime:
      description: When it became valid.
      type: str
    end_datetime:
      description: When it expires.
      type: str
    expires_in_days:
      description: Whole days until it expires (negative when expired).
      type: int
    expired:
      description: Whether it has expired.
      type: bool
    current:
      description: Whether it is the secret this module signed in with.
      type: bool
current_key_id:
  description: The key id of the secret the module signed in with, or null when it cannot be told (see RV(current_key_problem)).
  returned: always
  type: str
current_key_problem:
  description: Why RV(current_key_id) is null.
  returned: when RV(current_key_id) is null
  type: str
key_id:
  description: The key id of the secret added (O(state=present)) or removed (O(state=absent)).
  returned: when O(state=present) or O(state=absent), not in check mode for present
  type: str
secret:
  description:
    - The new secret's value (O(state=present)). Shown only here, once. The whole task result is hidden from output
      because of it; reach it through the registered variable and store it at once.
  returned: when O(state=present), not in check mode
  type: str
hint:
  description: The first characters of the new secret (O(state=present)).
  returned: when O(state=present), not in check mode
  type: str
end_datetime:
  description: When the new secret expires (O(state=present)).
  returned: when O(state=present)
  type: str
replaces_key_id:
  description: With O(state=present), the key id of the secret in use when it was added (the one a rotation removes at its end).
  returned: when O(state=present)
  type: str
attempts:
  description: How many sign-ins it took until Entra accepted the new secret.
  returned: when O(state=present), not in check mode
  type: int
waited_seconds:
  description: How long Entra took to accept the new secret.
  returned: when O(state=present), not in check mode
  type: float
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.coconut.entra.plugins.module_utils.common import (
    coconut_argument_spec,
    entra_argument_spec,
    entra_client_from_params,
    entra_credential_rules,
)
from ansible_collections.coconut.entra.plugins.module_utils.rotation import manage_app_secrets
from ansible_collections.coconut.entra.plugins.module_utils.entra import PROVABLE_PERMISSIONS, SYNC_PERMISSIONS
from ansible_collections.coconut.entra.plugins.module_utils.runner import run_guarded


def main():
    argument_spec = dict(
        state=dict(type="str", choices=["present", "absent"]),
        app_object_id=dict(type="str"),
        app_id=dict(type="str"),
        display_name=dict(type="str"),
        lifetime_days=dict(type="int", default=180),
        key_id=dict(type="str", no_log=False),
        current_key_id=dict(type="str", no_log=False),
        require_current=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=120),
        prove_permissions=dict(type="list", elements="str", choices=list(PROVABLE_PERMISSIONS), default=list(SYNC_PERMISSIONS)),
        expiry_warning_days=dict(type="int", default=30),
        rotation_step=dict(type="str"),
        undo_error=dict(type="str"),
    )
    argument_spec.update(entra_argument_spec())
    argument_spec.update(coconut_argument_spec())  # accepted and ignored, for module_defaults group/coconut.entra.all
    rules = entra_credential_rules()
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True, required_if=[("state", "absent", ["key_id"])], **rules)
    p = module.params

    def with_secret(secret):
        return entra_client_from_params(dict(p, entra_client_secret=secret, entra_client_certificate=None, entra_client_private_key=None))

    def manage():
        return manage_app_secrets(entra_client_from_params(module), with_secret, p, check_mode=module.check_mode, warn=module.warn)

    module.exit_json(**run_guarded(module, manage, libraries=("requests", "msal")))


if __name__ == "__main__":
    main()
