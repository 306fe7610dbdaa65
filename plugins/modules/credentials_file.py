#!/usr/bin/python
# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# The work is done by the action plugin of the same name (plugins/action/credentials_file.py), on the controller,
# where the vault secrets are. This file holds its documentation, as ansible.builtin does for its action-only plugins.

from __future__ import annotations

DOCUMENTATION = r"""
module: credentials_file
short_description: Write new credential values into a YAML vars file, keeping it Ansible Vault-encrypted
version_added: 0.1.0
description:
  - Replaces the values of the given variables in a YAML vars file on the controller (the file C(rotate_token.yml)
    reads and writes as O(path)), and leaves every other line, including comments, as it was. A variable the file does
    not hold yet is appended.
  - A file encrypted with Ansible Vault stays encrypted, with the same vault id, using the vault password given the
    usual way (C(--vault-id), C(--vault-password-file), C(--ask-vault-pass)). A value encrypted inline
    (C(!vault |)) stays encrypted inline.
  - The file is written to a temporary file in the same directory and moved over the old one, so a reader sees the old
    file or the new one, never half of one. The new file has mode O(mode).
  - "No value appears in the result, in a message or in a log line, only the names of the variables. Still set
    C(no_log: true) on the task, so that Ansible does not show the arguments when C(DISPLAY_ARGS_TO_STDOUT) is on."
author:
  - coconut.entra contributors (@coconut-entra)
attributes:
  action:
    support: full
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    details: Runs entirely as an action plugin on the controller, where the vault secrets are.
  async:
    support: none
    description: Supports being used with the C(async) keyword.
  bypass_host_loop:
    support: none
    description: Forces a 'global' task that does not execute per host.
  check_mode:
    support: full
    description: Can run in C(check_mode) and return changed status prediction without modifying target.
    details: Reports which variables would change, writes nothing.
  diff_mode:
    support: none
    description: Will return details on what has changed (or possibly needs changing in C(check_mode)), when in diff mode.
    details: A diff would show secret values, so none is given.
  platform:
    support: full
    description: Target OS/families that can be operated against.
    platforms: posix
options:
  path:
    description: The YAML vars file on the controller, plain or Ansible Vault-encrypted. It must exist.
    type: path
    required: true
  values:
    description: Variable name to its new value (a non-empty string).
    type: dict
    required: true
  mode:
    description: The file mode the written file gets.
    type: raw
    default: "0600"
notes:
  - The values are written as YAML double-quoted strings.
seealso:
  - module: coconut.entra.entra_app_secret
  - module: coconut.entra.api_token
"""

EXAMPLES = r"""
- name: Put the new Entra client secret in the vault-encrypted credentials file
  coconut.entra.credentials_file:
    path: "{{ credentials_file }}"
    values:
      entra_client_secret: "{{ new_secret.secret }}"
  no_log: true
"""

RETURN = r"""
path:
  description: The file.
  returned: always
  type: str
  sample: /etc/coconut/credentials.yml
updated:
  description: Names of the variables whose value changed (values are never returned).
  returned: success
  type: list
  elements: str
  sample: [entra_client_secret]
encrypted:
  description: Whether the whole file is Ansible Vault-encrypted (and was written back encrypted).
  returned: success
  type: bool
vault_id:
  description: The vault id label in the file's header, if it has one.
  returned: success
  type: str
mode:
  description: The file's mode after the task.
  returned: success
  type: str
  sample: "0600"
"""
