# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Attributes (check mode, diff mode) shared by the modules, in the community.general style.

A module extends ``coconut.entra.attributes`` for the descriptions and then either states
its own ``support`` levels, or extends one of the named fragments below as well.
"""

from __future__ import annotations


class ModuleDocFragment:
    # The base: descriptions only. Every module uses it.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in C(check_mode) and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in C(check_mode)), when in diff mode.
"""

    # Modules that only read (the *_info modules). Use together with the base.
    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This action does not modify state.
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
"""

    # Modules that write: check mode predicts exactly what the real run would do, diff shows only changed fields.
    # Use together with the base.
    CHECK_DIFF_FULL = r"""
options: {}
attributes:
  check_mode:
    support: full
    details:
      - Check mode writes nothing and returns the same changes the real run would make.
  diff_mode:
    support: full
    details:
      - The diff holds only the fields that change.
"""
