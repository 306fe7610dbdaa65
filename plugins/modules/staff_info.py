#!/usr/bin/python
# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: staff_info
short_description: List Coconut staff with their synced mark, and the duplicate sets
version_added: 0.1.0
description:
  - Returns every Coconut staff member (all pages) with C(synced), the Users tab's green check (added through the Entra
    ID integration) or grey dash, and the stored Entra object id.
  - Also returns the duplicate sets already in Coconut - staff sharing an email, or a normalised first and last name -
    each saying which members are synced.
  - Also returns Coconut's Entra ID integration record (its status and the outcome of the last sync run, which
    M(coconut.entra.staff_sync) records there).
author:
  - coconut.entra contributors (@coconut-entra)
extends_documentation_fragment:
  - coconut.entra.entra
  - coconut.entra.coconut
  - coconut.entra.tls
  - coconut.entra.attributes
  - coconut.entra.attributes.info_module
options:
  status:
    description: Only staff with this status. All staff when not given.
    type: str
    choices: [active, archived]
"""

EXAMPLES = r"""
- name: Read the Users tab
  coconut.entra.staff_info:
    coconut_url: https://mapleridge.coconutcalendar.com
    coconut_api_token: "{{ coconut_api_token }}"
  register: users_tab

- name: Who is not synced
  ansible.builtin.debug:
    msg: "{{ users_tab.staff | rejectattr('synced') | map(attribute='email') | list }}"
"""

RETURN = r"""
staff:
  description: Every staff member.
  returned: always
  type: list
  elements: dict
  sample: [{id: "101", first_name: Ada, last_name: Lovelace, email: ada@contoso.example, status: active, synced: true,
            object_id: 1b2c0c1a-0000-4000-8000-000000000001, job_title: Teller, role: 10, locations: [MAIN], user_group_id: null}]
duplicate_sets:
  description: Staff sharing an email or a normalised first and last name.
  returned: always
  type: list
  elements: dict
  sample: [{key: email, value: ada@contoso.example, members: ["101", "140"], synced: ["101"]}]
counts:
  description: Staff per kind.
  returned: always
  type: dict
  sample: {total: 40, synced: 31, unsynced: 9, active: 38, archived: 2, duplicate_sets: 1}
integration:
  description:
    - Coconut's Entra ID integration record, as Settings > Integrations > Entra ID shows it, or null when the site is
      not connected.
    - C(last_sync) is the outcome of the last real sync run that changed staff or the status, with C(at), C(mode),
      C(status) (V(connected), V(token_revoked) or V(failing)), C(counts), C(scope), C(changed) and C(error) (the
      error in words, redacted; failed runs). Check runs write nothing, so they are not recorded.
  returned: always
  type: dict
  sample: {status: connected, tenant_id: 0b8a3d8e-0000-4000-8000-000000000001, client_id: 3c1e0000-0000-4000-8000-000000000002,
           groups: [5e6f0000-0000-4000-8000-000000000003], connected_at: "2026-01-05T09:00:00Z", last_sync_at: "2026-01-06T02:00:04Z",
           last_sync: {at: "2026-01-06T02:00:04Z", mode: apply, status: connected, changed: true, scope: 40,
                       counts: {create: 1, update: 2, restore: 0, archive: 0, unchanged: 37}}}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.coconut.entra.plugins.module_utils.common import coconut_argument_spec, coconut_client_from_params, entra_argument_spec
from ansible_collections.coconut.entra.plugins.module_utils.outcome import integration_view
from ansible_collections.coconut.entra.plugins.module_utils.runner import run_guarded
from ansible_collections.coconut.entra.plugins.module_utils.staff_view import duplicate_sets, staff_row


def main():
    argument_spec = dict(status=dict(type="str", choices=["active", "archived"]))
    argument_spec.update(entra_argument_spec())
    argument_spec.update(coconut_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)

    def read():
        client = coconut_client_from_params(module)
        staff = client.list_staff()
        if module.params["status"]:
            staff = [s for s in staff if s.get("status") == module.params["status"]]
        rows = [staff_row(s) for s in staff]
        sets = duplicate_sets(staff)
        counts = {
            "total": len(rows),
            "synced": sum(1 for r in rows if r["synced"]),
            "unsynced": sum(1 for r in rows if not r["synced"]),
            "active": sum(1 for r in rows if r["status"] == "active"),
            "archived": sum(1 for r in rows if r["status"] == "archived"),
            "duplicate_sets": len(sets),
        }
        return {"changed": False, "staff": rows, "duplicate_sets": sets, "counts": counts,
                "integration": integration_view(client.get_integration())}

    module.exit_json(**run_guarded(module, read, libraries=("requests", "jinja2")))


if __name__ == "__main__":
    main()
