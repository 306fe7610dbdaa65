# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Coconut's staff role codes: the one list the staff module's choices, entra_groups validation and the report use."""

from __future__ import annotations

# Coconut's published role codes (5-15) and the two modelled ones (20, 30).
ROLE_NAMES = {5: "Contact Centre", 10: "Staff", 13: "Staff Plus", 15: "Staff Advanced", 20: "Manager", 30: "Admin"}
ROLE_CODES = tuple(sorted(ROLE_NAMES))
