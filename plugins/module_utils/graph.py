# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Microsoft Graph's names, once: the user properties the collection reads and the application permissions it needs.

The Graph client (entra.py) owns the wire format and re-exports these; the pure mapping reads them here, so it need
not import the client."""

from __future__ import annotations

# Read whatever the mapping selects: the object id identifies the user, displayName feeds match rule B and reports,
# accountEnabled decides the scope.
REQUIRED_USER_FIELDS = ("id", "displayName", "accountEnabled")
# Graph's default user properties lack accountEnabled, so users are always read with an explicit $select: this one when
# the caller names none (entra_group_info's default). The default mapping reads no others.
DEFAULT_USER_FIELDS = ("id", "displayName", "givenName", "surname", "mail", "userPrincipalName", "accountEnabled", "jobTitle")
# Read when a mapping expression uses `user` in a way static analysis cannot follow (`user[var]`, `user | attr(...)`,
# `user | tojson`): the Graph user properties an expression is likely to want.
BROAD_USER_FIELDS = DEFAULT_USER_FIELDS + (
    "department", "officeLocation", "employeeId", "mobilePhone", "businessPhones", "preferredLanguage",
    "companyName", "city", "country", "usageLocation", "employeeType",
)

# Graph application permissions, by their names in the Entra admin center.
PERMISSION_GROUP_MEMBER_READ = "GroupMember.Read.All"
PERMISSION_USERS = "User.Read.All"
PERMISSION_APPLICATION = "Application.ReadWrite.OwnedBy"
# What EntraClient.check_permission() can prove, and the part of it the sync needs.
SYNC_PERMISSIONS = (PERMISSION_GROUP_MEMBER_READ, PERMISSION_USERS)
PROVABLE_PERMISSIONS = SYNC_PERMISSIONS + (PERMISSION_APPLICATION,)
