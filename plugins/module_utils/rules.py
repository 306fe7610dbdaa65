# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sync's choices and action names, once: staff_sync's argument spec, the planner, the mapping, sync, diff and
report read them here (a unit test holds staff_sync's DOCUMENTATION to them)."""

from __future__ import annotations

# coconut_match: object_id first, then rule A and/or rule B (reconcile.check_match enforces the order).
MATCH_RULES = ("object_id", "name_and_email", "display_name")
# coconut_possible_duplicates and coconut_invalid_users; the first choice of each is its default.
POSSIBLE_DUPLICATE_CHOICES = ("report", "create")
INVALID_USER_CHOICES = ("fail", "skip")
POSSIBLE_DUPLICATES_DEFAULT = POSSIBLE_DUPLICATE_CHOICES[0]
INVALID_USERS_DEFAULT = INVALID_USER_CHOICES[0]
# The writes a plan counts and shows, in the order counts, summaries and the drift gate list them.
# (An adopt is an update of an unsynced staff member; it is counted beside them, not instead.)
ACTIONS = ("create", "update", "restore", "archive")
