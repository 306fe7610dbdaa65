#!/usr/bin/python
# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: user_group
short_description: Make sure a Coconut staff group exists
version_added: 0.1.0
description:
  - Creates a Coconut staff group (user group) by name, or updates its external id.
  - Coconut has no way to delete a staff group through its API, so there is no C(absent) state.
author:
  - coconut.entra contributors (@coconut-entra)
extends_documentation_fragment:
  - coconut.entra.entra
  - coconut.entra.coconut
  - coconut.entra.tls
  - coconut.entra.attributes
  - coconut.entra.attributes.check_diff_full
options:
  name:
    description:
      - The staff group's name. It matches an existing group the way Entra group names and the sync's C(user_group) do,
        trimmed and ignoring case and Unicode form, so C(tellers) finds C(Tellers) rather than making a second group.
      - Two existing groups matching the name is an error naming both; nothing is written.
    type: str
    required: true
  external_id:
    description: An external id to store on the group. Left as it is when not given.
    type: str
"""

EXAMPLES = r"""
- name: Tellers have their own staff group
  coconut.entra.user_group:
    coconut_url: https://mapleridge.coconutcalendar.com
    coconut_api_token: "{{ coconut_api_token }}"
    name: Tellers
    external_id: tellers
"""

RETURN = r"""
user_group:
  description: The staff group after the task (predicted in check mode; C(id) is null for a group check mode would create).
  returned: always
  type: dict
  sample: {id: "3", name: Tellers, external_id: tellers}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.coconut.entra.plugins.module_utils.common import coconut_argument_spec, coconut_client_from_params, entra_argument_spec
from ansible_collections.coconut.entra.plugins.module_utils.records import ensure_user_group
from ansible_collections.coconut.entra.plugins.module_utils.runner import run_guarded


def main():
    argument_spec = dict(name=dict(type="str", required=True), external_id=dict(type="str"))
    argument_spec.update(entra_argument_spec())
    argument_spec.update(coconut_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)

    def ensure():
        result = ensure_user_group(coconut_client_from_params(module), module.params["name"], external_id=module.params["external_id"],
                                   check_mode=module.check_mode)
        if not module._diff:
            result.pop("diff")
        return result

    module.exit_json(**run_guarded(module, ensure, libraries=("requests",)))


if __name__ == "__main__":
    main()
