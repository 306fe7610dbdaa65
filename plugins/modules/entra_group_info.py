#!/usr/bin/python
# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: entra_group_info
short_description: Read Entra ID groups and their user members
version_added: 0.1.0
description:
  - Resolves Entra ID groups by object id or exact display name and returns each with its user members, direct or
    transitive, reading every page from Microsoft Graph.
  - A name that matches no group or several groups fails with the ids to choose from.
author:
  - coconut.entra contributors (@coconut-entra)
extends_documentation_fragment:
  - coconut.entra.entra
  - coconut.entra.coconut
  - coconut.entra.tls
  - coconut.entra.attributes
  - coconut.entra.attributes.info_module
options:
  groups:
    description: Group object ids or exact display names.
    type: list
    elements: str
    required: true
  membership:
    description: C(direct) members only, or C(transitive) (members of nested groups too).
    type: str
    choices: [direct, transitive]
    default: direct
  select:
    description: Graph user attributes to return for each member.
    type: list
    elements: str
    default: [id, displayName, givenName, surname, mail, userPrincipalName, accountEnabled, jobTitle]
  members:
    description: Return the members. With C(false) only the groups are resolved.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Who is in the tellers group, nested groups included
  coconut.entra.entra_group_info:
    entra_tenant_id: "{{ entra_tenant_id }}"
    entra_client_id: "{{ entra_client_id }}"
    entra_client_secret: "{{ entra_client_secret }}"
    groups: [Coconut - Tellers]
    membership: transitive
  register: tellers

- name: Show how many
  ansible.builtin.debug:
    msg: "{{ tellers.groups[0].displayName }} has {{ tellers.groups[0].members | length }} users"
"""

RETURN = r"""
groups:
  description: The groups in the order given, each with its user members (Graph attribute names).
  returned: always
  type: list
  elements: dict
  sample: [{id: 5e6f0c1a-0000-4000-8000-000000000001, displayName: Coconut - Tellers, ref: Coconut - Tellers,
            members: [{id: 1b2c0c1a-0000-4000-8000-000000000001, displayName: Ada Lovelace, accountEnabled: true}]}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.coconut.entra.plugins.module_utils.common import coconut_argument_spec, entra_argument_spec, entra_client_from_params
from ansible_collections.coconut.entra.plugins.module_utils.graph import DEFAULT_USER_FIELDS
from ansible_collections.coconut.entra.plugins.module_utils.runner import run_guarded


def main():
    argument_spec = dict(
        groups=dict(type="list", elements="str", required=True),
        membership=dict(type="str", choices=["direct", "transitive"], default="direct"),
        select=dict(type="list", elements="str", default=list(DEFAULT_USER_FIELDS)),
        members=dict(type="bool", default=True),
    )
    argument_spec.update(entra_argument_spec())
    argument_spec.update(coconut_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)

    def read():
        entra = entra_client_from_params(module)
        groups = entra.resolve_groups(module.params["groups"])
        if module.params["members"]:
            transitive = module.params["membership"] == "transitive"
            for group in groups:
                group["members"] = entra.group_members(group["id"], transitive=transitive, select=module.params["select"])
        return {"changed": False, "groups": groups}

    module.exit_json(**run_guarded(module, read, libraries=("requests", "msal")))


if __name__ == "__main__":
    main()
