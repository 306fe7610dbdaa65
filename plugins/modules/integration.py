#!/usr/bin/python
# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: integration
short_description: Connect or disconnect a Coconut site's Entra ID integration
version_added: 0.1.0
description:
  - With O(state=present), proves both sides before it records anything, in this order - an Entra token for the app;
    each Graph application permission in O(permissions), by a real read that needs it; every group in O(groups)
    (by id or exact display name); the Coconut API token. A failure names what is missing (the AADSTS cause, the
    permission, the group, the credential) and records nothing.
  - Then it records the integration in Coconut - C(status=connected), the tenant id, the client id, the resolved group
    ids and C(connected_at). The record holds no secret. Other attributes of an existing record (such as the last sync)
    are kept.
  - Idempotent - when the record already says connected with the same tenant, client and groups, nothing is written and
    C(connected_at) is kept.
  - With O(state=absent), removes the record; it needs only the Coconut options, so it works when the Entra credential
    no longer does. Staff are not touched and keep their synced marks, so a later connect and
    sync pick them up again without duplicates.
author:
  - coconut.entra contributors (@coconut-entra)
extends_documentation_fragment:
  - coconut.entra.entra
  - coconut.entra.coconut
  - coconut.entra.tls
  - coconut.entra.attributes
attributes:
  check_mode:
    support: full
    details:
      - Check mode runs every verification (they only read) and writes nothing.
  diff_mode:
    support: full
    details:
      - The diff shows the integration record before and after.
options:
  state:
    description: V(present) verifies and records the integration; V(absent) removes the record.
    type: str
    choices: [present, absent]
    default: present
  groups:
    description:
      - The Entra groups the sync reads, as in C(staff_sync) - each item a group object id or exact display name, or a
        dictionary whose C(group) key is one. Required with O(state=present).
      - A list. A single string is one group name, never split at commas.
      - Checked as C(staff_sync) checks them (its keys, role codes, locations and staff group names), so a list the sync
        would refuse is refused here, before anything is recorded.
    type: raw
  permissions:
    description: The Graph application permissions to prove (O(state=present)). The default is what the sync needs.
    type: list
    elements: str
    choices: [GroupMember.Read.All, User.Read.All, Application.ReadWrite.OwnedBy]
    default: [GroupMember.Read.All, User.Read.All]
seealso:
  - module: coconut.entra.staff_sync
"""

EXAMPLES = r"""
- name: Connect the Main Street site
  coconut.entra.integration:
    entra_tenant_id: "{{ entra_tenant_id }}"
    entra_client_id: "{{ entra_client_id }}"
    entra_client_secret: "{{ entra_client_secret }}"
    coconut_url: https://mapleridge.coconutcalendar.com
    coconut_api_token: "{{ coconut_api_token }}"
    groups:
      - Coconut - Tellers
      - group: Coconut - Advisors
        role: 13

- name: Disconnect (staff stay as they are)
  coconut.entra.integration:
    entra_tenant_id: "{{ entra_tenant_id }}"
    entra_client_id: "{{ entra_client_id }}"
    entra_client_secret: "{{ entra_client_secret }}"
    coconut_url: https://mapleridge.coconutcalendar.com
    coconut_api_token: "{{ coconut_api_token }}"
    state: absent
"""

RETURN = r"""
integration:
  description: The integration record after the task (predicted in check mode), or null when there is none.
  returned: always
  type: dict
  sample: {status: connected, tenant_id: 0b8a3d8e-0000-4000-8000-000000000000, client_id: 3c1e0000-0000-4000-8000-000000000001,
           groups: [5e6f0000-0000-4000-8000-000000000003], connected_at: "2026-05-01T10:00:00Z"}
groups:
  description: The resolved Entra groups (O(state=present)).
  returned: when O(state=present)
  type: list
  elements: dict
  sample: [{id: 5e6f0000-0000-4000-8000-000000000003, displayName: Coconut - Tellers, ref: Coconut - Tellers}]
checks:
  description: What was proven (O(state=present)), in order.
  returned: when O(state=present)
  type: list
  elements: str
  sample: [Entra token, GroupMember.Read.All, User.Read.All, groups, Coconut API token]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.coconut.entra.plugins.module_utils.common import (
    coconut_argument_spec,
    coconut_client_from_params,
    entra_argument_spec,
    entra_client_from_params,
    entra_credential_rules,
)
from ansible_collections.coconut.entra.plugins.module_utils.connect import disconnect, verify_and_record
from ansible_collections.coconut.entra.plugins.module_utils.entra import PROVABLE_PERMISSIONS, SYNC_PERMISSIONS
from ansible_collections.coconut.entra.plugins.module_utils.runner import run_guarded


def main():
    argument_spec = dict(
        state=dict(type="str", choices=["present", "absent"], default="present"),
        groups=dict(type="raw"),  # raw, not list: a list conversion would split a name at its commas
        permissions=dict(type="list", elements="str", choices=list(PROVABLE_PERMISSIONS), default=list(SYNC_PERMISSIONS)),
    )
    argument_spec.update(entra_argument_spec())
    argument_spec.update(coconut_argument_spec())
    # Disconnecting must work when the Entra credential no longer does: an Entra credential is needed only to connect.
    rules = entra_credential_rules()
    rules.pop("required_one_of")
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_if=[("state", "present", ["groups"]),
                                        ("state", "present", ["entra_client_secret", "entra_client_certificate"], True)],
                           **rules)

    def run():
        coconut = coconut_client_from_params(module)
        if module.params["state"] == "absent":
            result = disconnect(coconut, check_mode=module.check_mode)
        else:
            result = verify_and_record(entra_client_from_params(module), coconut, module.params["groups"], module.params["permissions"],
                                       check_mode=module.check_mode)
        if not module._diff:
            result.pop("diff")
        return result

    module.exit_json(**run_guarded(module, run, libraries=("requests", "msal")))


if __name__ == "__main__":
    main()
