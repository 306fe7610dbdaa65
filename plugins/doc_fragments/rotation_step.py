# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options with which a removal is one step of rotate_token.yml (entra_app_secret, api_token)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  rotation_step:
    description:
      - With O(state=absent), the rotation step this task is, as C(rotate_token.yml) names it. A failure is then reported
        as every rotation step's is (C(rotation step 'NAME' failed), the cause, then what was left).
    type: str
  undo_error:
    description:
      - With O(state=absent) and O(rotation_step), this task undoes the failed step O(rotation_step) by removing the new
        credential it names (as the rescues of C(rotate_token.yml) do), then fails with this error (the failed step's
        message) and says whether the new credential was removed.
    type: str
"""
