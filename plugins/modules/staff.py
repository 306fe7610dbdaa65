#!/usr/bin/python
# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: staff
short_description: Manage one Coconut staff member by hand
version_added: 0.1.0
description:
  - Sets one Coconut staff member's fields and status, for the exceptions that do not come from Entra ID (a contractor,
    a shared front-desk account).
  - The staff member is found by O(id), else by O(email) (compared trimmed and case-folded). Not found and
    O(state=present) creates it, which needs O(first_name), O(last_name) and O(email).
  - Only the options given are written; a staff member synced from Entra ID keeps its synced mark, but the next
    M(coconut.entra.staff_sync) run sets the mapped fields back to Entra's values.
  - Staff are never deleted (Coconut has no delete); O(state=archived) archives.
author:
  - coconut.entra contributors (@coconut-entra)
extends_documentation_fragment:
  - coconut.entra.entra
  - coconut.entra.coconut
  - coconut.entra.tls
  - coconut.entra.attributes
  - coconut.entra.attributes.check_diff_full
options:
  id:
    description: The Coconut staff id.
    type: str
  email:
    description:
      - The staff member's email. Without O(id) it finds the staff member (and is then not written); with O(id) it is set.
    type: str
  state:
    description: C(present) (active) or C(archived).
    type: str
    choices: [present, archived]
    default: present
  first_name:
    description: First name.
    type: str
  last_name:
    description: Last name.
    type: str
  job_title:
    description: Job title.
    type: str
  language:
    description: Language code, such as C(en) or C(fr).
    type: str
  role:
    description: Coconut role code (5 Contact Centre, 10 Staff, 13 Staff Plus, 15 Staff Advanced, 20 Manager, 30 Admin).
    type: int
    choices: [5, 10, 13, 15, 20, 30]
  locations:
    description: Location external ids; compared as a set.
    type: list
    elements: str
  user_group_id:
    description: The id of the staff group (digits); sent to Coconut as an integer, as its API types it.
    type: str
  send_invite:
    description: Send a Coconut account invite when creating.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: The weekend contractor is not in Entra but needs a calendar
  coconut.entra.staff:
    coconut_url: https://mapleridge.coconutcalendar.com
    coconut_api_token: "{{ coconut_api_token }}"
    email: sam.contractor@example.com
    first_name: Sam
    last_name: Rivera
    job_title: Mortgage Specialist (contract)
    role: 10
    locations: [MAIN]

- name: Archive the old front-desk account
  coconut.entra.staff:
    coconut_url: https://mapleridge.coconutcalendar.com
    coconut_api_token: "{{ coconut_api_token }}"
    email: frontdesk@mapleridge.example
    state: archived
"""

RETURN = r"""
staff:
  description: The staff member after the task (predicted in check mode; C(id) is null for one check mode would create).
  returned: always
  type: dict
  sample: {id: "204", first_name: Sam, last_name: Rivera, email: sam.contractor@example.com, status: active, synced: false}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.coconut.entra.plugins.module_utils.common import coconut_argument_spec, coconut_client_from_params, entra_argument_spec
from ansible_collections.coconut.entra.plugins.module_utils.records import ensure_staff
from ansible_collections.coconut.entra.plugins.module_utils.roles import ROLE_CODES
from ansible_collections.coconut.entra.plugins.module_utils.runner import run_guarded


def main():
    argument_spec = dict(
        id=dict(type="str"),
        email=dict(type="str"),
        state=dict(type="str", choices=["present", "archived"], default="present"),
        first_name=dict(type="str"),
        last_name=dict(type="str"),
        job_title=dict(type="str"),
        language=dict(type="str"),
        role=dict(type="int", choices=list(ROLE_CODES)),
        locations=dict(type="list", elements="str"),
        user_group_id=dict(type="str"),
        send_invite=dict(type="bool", default=False),
    )
    argument_spec.update(entra_argument_spec())
    argument_spec.update(coconut_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True, required_one_of=[("id", "email")])

    def ensure():
        result = ensure_staff(coconut_client_from_params(module), module.params, check_mode=module.check_mode)
        if not module._diff:
            result.pop("diff")
        return result

    module.exit_json(**run_guarded(module, ensure, libraries=("requests", "jinja2")))


if __name__ == "__main__":
    main()
