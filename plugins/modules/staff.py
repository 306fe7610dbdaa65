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
from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.reconcile import normalise
from ansible_collections.coconut.entra.plugins.module_utils.roles import ROLE_CODES
from ansible_collections.coconut.entra.plugins.module_utils.runner import run_guarded
from ansible_collections.coconut.entra.plugins.module_utils.staff_view import staff_row

FIELDS = ("first_name", "last_name", "email", "job_title", "language", "role", "locations", "user_group_id")


def _find(coconut, staff_id, email):
    if staff_id:
        return coconut.get_staff(staff_id)
    wanted = normalise(email)
    found = [s for s in coconut.list_staff() if normalise(s.get("email")) == wanted]
    if len(found) > 1:
        raise CoconutEntraError("%d Coconut staff have the email %s (ids %s); give the one to manage with id"
                                % (len(found), email, ", ".join(s["id"] for s in found)))
    return found[0] if found else None


def _changes(current, params):
    """Only the given fields whose value differs (locations as a set). An email that found the staff member is the key, not a change."""
    before, after = {}, {}
    for name in FIELDS:
        value = params[name]
        if value is None or (name == "email" and not params["id"]):
            continue
        old = current.get(name)
        same = sorted(old or []) == sorted(value) if name == "locations" else old == value
        if not same:
            before[name], after[name] = old, value
    status = "archived" if params["state"] == "archived" else "active"
    if current.get("status") != status:
        before["status"], after["status"] = current.get("status"), status
    return before, after


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
        coconut = coconut_client_from_params(module)
        params = module.params
        current = _find(coconut, params["id"], params["email"])
        if current is None:
            if params["id"]:
                raise CoconutEntraError("no Coconut staff with id %s" % params["id"])
            missing = [name for name in ("first_name", "last_name", "email") if not params[name]]
            if missing:
                raise CoconutEntraError("no Coconut staff has the email %s; to create one, also give %s"
                                        % (params["email"], ", ".join(missing)))
            before, after = {}, {name: params[name] for name in FIELDS if params[name] is not None}
            after["status"] = "archived" if params["state"] == "archived" else "active"
            staff = dict(after, id=None, integration=None)
            if not module.check_mode:
                staff = coconut.create_staff(after, send_invite=params["send_invite"])
        else:
            before, after = _changes(current, params)
            staff = dict(current, **after)
            if after and not module.check_mode:
                staff = coconut.update_staff(current["id"], after)
        result = {"changed": bool(after) and before != after, "staff": staff_row(staff)}
        if module._diff:
            result["diff"] = {"before": before, "after": after}
        return result

    module.exit_json(**run_guarded(module, ensure, libraries=("requests", "jinja2")))


if __name__ == "__main__":
    main()
