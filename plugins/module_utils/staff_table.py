# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A full sync's Coconut staff kept compactly, and the unchanged users settled while Graph is still being read.

At 100,000 members almost every user is unchanged: one synced, active staff member holds their object id and every
mapped field is already equal. The planner would find exactly that (reconcile's first pass) and do nothing else with
them but count them. Settling them while the read goes on lets the module drop each such user's mapped fields and Graph
strings as soon as they are compared, and keep the staff member as a tuple instead of a dict (a third of the memory).

Exactness comes first: a settled pair is kept whole enough to be put back, and `Settler.finish` puts every one back
(so the planner sees exactly its usual input) whenever anything could make a settled pair matter to the rest of the
plan: an unsettled user with the same object id or the same mapped email, a skipped user with that object id.
Pure: no I/O.
"""

from __future__ import annotations

import operator

from ansible_collections.coconut.entra.plugins.module_utils.reconcile import SOURCE, DesiredStaff, _copy, is_unchanged, normalise

_EMPTY = ()  # a packed empty `locations` list (JSON has no tuples, so () can stand for [])


def _mark_id(integration):
    """The object id of an integration dict that is exactly the mark {"source": "entra_id", "object_id": "<text>"} (a row
    keeps that id alone), else None."""
    if len(integration) == 2 and integration.get("source") == SOURCE and integration.get("object_id").__class__ is str \
            and tuple(integration) == ("source", "object_id"):
        return integration["object_id"]
    return None


class StaffTable:
    """Coconut staff records in the order read, first sighting of each id kept (as CoconutClient lists them).

    A record whose attributes come in the table's usual order is kept as a tuple of its values; its integration
    mark {"source": "entra_id", "object_id": X} as X alone; an empty locations list as (). Any other record is kept
    as the dict it was. `record(n)` gives back a dict equal to the one added.
    """

    def __init__(self, flatten=None, repeated=(), shared=None):
        self.keys = None  # the first record's keys: every record with exactly these keys is packed
        self.rows = []
        self.index = {}  # normalised object id of a synced staff member -> row number, or a list when several share it
        self._ids = set()
        self._at = {}
        self._integration = self._locations = self._status = -1
        # add_resource(): the client's own flatten() and its repeated-value sharing (coconut.py owns those rules).
        self._flatten = flatten
        self._repeated = repeated
        self._share = (shared if shared is not None else {}).setdefault
        self._user_group = -1
        self._attributes = None  # the first record's attribute keys, when a resource with exactly these can skip flatten()
        self._shared_at = ()

    def add_resource(self, resource):
        """add(flatten(resource)), without building the record dict when the resource has the usual attributes."""
        attributes = resource.get("attributes") if resource.__class__ is dict else None
        ident = resource.get("id") if attributes.__class__ is dict else None
        if ident.__class__ is not str or self._attributes is None or tuple(attributes) != self._attributes:
            self.add(self._flatten(resource))
            return
        if ident in self._ids:
            return
        values = [ident]
        values.extend(attributes.values())
        share = self._share
        if self._user_group >= 0:
            value = values[self._user_group]
            if value is not None and value.__class__ is not str:
                values[self._user_group] = str(value)
        for position in self._shared_at:
            value = values[position]
            if value.__class__ is str:
                values[position] = share(value, value)
        integration = None
        if self._integration >= 0:
            integration = values[self._integration]
            if integration.__class__ is dict:
                mark = _mark_id(integration)
                if mark is not None:
                    values[self._integration] = mark
                else:
                    source = integration.get("source")
                    if source.__class__ is str:
                        integration["source"] = share(source, source)
            elif integration.__class__ is str:
                self.add(self._flatten(resource))
                return
        if self._locations >= 0:
            locations = values[self._locations]
            if locations.__class__ is list:
                values[self._locations] = [share(x, x) if x.__class__ is str else x for x in locations] if locations else _EMPTY
        self._ids.add(ident)
        self._keep(tuple(values), integration)

    def add(self, record):
        ident = record["id"]
        if ident in self._ids:
            return  # pages read while someone writes can shift by a record: the first sighting wins
        self._ids.add(ident)
        if self.keys is None:
            self.keys = tuple(record)
            self._at = {name: position for position, name in enumerate(self.keys)}
            self._integration = self._at.get("integration", -1)
            self._locations = self._at.get("locations", -1)
            self._status = self._at.get("status", -1)
            self._user_group = self._at.get("user_group_id", -1)
            self._shared_at = tuple(self._at[name] for name in self._repeated if name in self._at)
            if self._flatten is not None and self.keys[0] == "id" and "id" not in self.keys[1:]:
                self._attributes = self.keys[1:]
        integration = record.get("integration")
        row = record
        if tuple(record) == self.keys:
            values = list(record.values())
            packable = True
            if self._integration >= 0:
                mark = _mark_id(integration) if integration.__class__ is dict else None
                if mark is not None:
                    values[self._integration] = mark
                elif integration.__class__ is str:
                    packable = False  # a bare string there would read back as a mark
            if self._locations >= 0:
                locations = values[self._locations]
                if locations.__class__ is list and not locations:
                    values[self._locations] = _EMPTY
                elif locations.__class__ is tuple:
                    packable = False
            if packable:
                row = tuple(values)
        self._keep(row, integration)

    def _keep(self, row, integration):
        """Append `row`; index it when `integration` (the record's, unpacked) marks it synced."""
        number = len(self.rows)
        self.rows.append(row)
        if integration.__class__ is dict and integration.get("source") == SOURCE and integration.get("object_id"):
            key = normalise(integration["object_id"])
            held = self.index.get(key)
            self.index[key] = number if held is None else (held + [number] if held.__class__ is list else [held, number])

    def done(self):
        """Reading is over: the id set goes (memory)."""
        self._ids = None
        return self

    def __len__(self):
        return len(self.rows)

    def value(self, number, name):
        """One field of row `number`, as the record would hold it (None when absent)."""
        row = self.rows[number]
        if row.__class__ is dict:
            return row.get(name)
        position = self._at.get(name, -1)
        if position < 0:
            return None
        value = row[position]
        if position == self._integration and value.__class__ is str:
            return {"source": SOURCE, "object_id": value}
        if position == self._locations and value.__class__ is tuple:
            return []
        return value

    def object_id(self, number):
        """The stored Entra object id of row `number` (a synced staff member), as the record holds it."""
        row = self.rows[number]
        if row.__class__ is dict:
            return row["integration"]["object_id"]
        value = row[self._integration]
        return value if value.__class__ is str else value["object_id"]

    def record(self, number):
        """Row `number` as the record it was added as."""
        row = self.rows[number]
        if row.__class__ is dict:
            return row
        record = dict(zip(self.keys, row))  # noqa: B905 - a packed row has exactly the keys (strict= needs Python 3.10)
        if self._integration >= 0 and row[self._integration].__class__ is str:
            record["integration"] = {"source": SOURCE, "object_id": row[self._integration]}
        if self._locations >= 0 and row[self._locations].__class__ is tuple:
            record["locations"] = []
        return record

    def records(self, skip=None):
        """Every record, in order, but the rows marked in `skip` (a bytearray of row flags)."""
        if skip is None:
            return [self.record(number) for number in range(len(self.rows))]
        return [self.record(number) for number in range(len(self.rows)) if not skip[number]]


class Settler:
    """Settles unchanged users against a StaffTable while Graph is read; `finish` gives the planner its input.

    A user is settled when exactly one synced staff member holds its object id, that member is not archived, and every
    mapped field and group extra is equal to the member's, of the same type: what reconcile's first pass counts as
    unchanged. A settled user is kept as a tuple (row, group, display name, aliases or None, fields' names, object id
    or None): None where it equals what the row gives back.
    """

    def __init__(self, table, extras):
        self.table = table
        self.extras = extras  # per selected group: {field: value} every member of that group takes
        self.settled_rows = bytearray(len(table.rows))
        self.count = 0
        self._names = {}
        self._checks = {}
        self._rows = table.rows
        self._at = table._at
        self._locations = table._locations
        self._status = table._status
        self._integration = table._integration

    def same_id(self, object_id):
        """The object id a staff row holds when it is equal to `object_id` (that very string), else `object_id`: a key
        kept for the whole run then keeps no second copy of the id."""
        number = self.table.index.get(object_id)
        if number.__class__ is int:
            stored = self.table.object_id(number)
            if stored == object_id:
                return stored
        return object_id

    def settle(self, user, group):
        """A placeholder tuple for `user` (DesiredStaff of selected group number `group`), or None to plan it."""
        return self.settle_values(user.object_id, user.display_name, user.fields, user.aliases, group)

    def settler_for(self, group):
        """settle_values for the users of selected group number `group` (mapping.map_users' `settle`)."""
        settle_values = self.settle_values
        return lambda object_id, display_name, fields, aliases: settle_values(object_id, display_name, fields, aliases, group)

    def settle_values(self, object_id, display_name, fields, aliases, group):
        """settle() for a user given by its parts (mapping.map_users settles before it builds a DesiredStaff)."""
        index = self.table.index
        number = index.get(object_id)  # an id already in normal form is its own key
        if number is None:
            number = index.get(normalise(object_id))
        if number.__class__ is not int or self.settled_rows[number]:
            return None
        row = self._rows[number]
        names = tuple(fields)
        check = self._checks.get((names, group))
        if check is None:
            check = self._checks[(names, group)] = self._check_for(names, group)
        current_of, extra_values, names = check
        if current_of is not None and row.__class__ is tuple:
            # The usual case, in C: every field and extra at its position in the row, equal and of the same type.
            if self._status >= 0 and row[self._status] == "archived":
                return None
            values = tuple(fields.values()) + extra_values
            current = current_of(row)
            if values != current or tuple(map(type, values)) != tuple(map(type, current)):
                return None
            stored_id = row[self._integration]
            if stored_id.__class__ is not str:
                stored_id = stored_id["object_id"]
        elif self._equal(number, fields, self.extras[group]):
            stored_id = self.table.object_id(number)
        else:
            return None
        self.settled_rows[number] = 1
        self.count += 1
        email = fields.get("email")
        if aliases == ((email,) if email else ()):
            aliases = None
        return (number, group, display_name, aliases, names, None if object_id == stored_id else object_id)

    def _check_for(self, names, group):
        """(the row's values for `names` and the group's extras as one tuple, the extras' values, `names` shared), or
        (None, ...) when a name has no position or is `locations` (packed as (), compared one by one)."""
        extras = self.extras[group]
        wanted = names + tuple(extras)
        names = self._names.setdefault(names, names)
        at = self._at
        if len(wanted) < 2 or any(name not in at or at[name] == self._locations for name in wanted):
            return None, (), names
        return operator.itemgetter(*(at[name] for name in wanted)), tuple(extras.values()), names

    def _equal(self, number, fields, extras):
        """The planner's own test (reconcile.is_unchanged), one field at a time, over the fields and the group's extras."""
        value_of = self.table.value

        def get(name, _default=None):  # a packed row has no absent status: None is as good as the default for the test
            return value_of(number, name)

        return is_unchanged(fields, get) and is_unchanged(extras, get)

    def restore(self, placeholder):
        """The DesiredStaff a placeholder stands for (without its group's extras, as it was mapped)."""
        number, _group, display_name, aliases, names, object_id = placeholder
        fields = {name: _copy(self.table.value(number, name)) for name in names}
        if aliases is None:
            email = fields.get("email")
            aliases = (email,) if email else ()
        return DesiredStaff(object_id=object_id or self.table.object_id(number), display_name=display_name, fields=fields,
                            aliases=aliases)

    def needs_everyone(self, desired, skipped):
        """True when a settled pair could change the plan of the others: an unsettled or skipped user holds a settled
        staff member's object id, or an unsettled user has the mapped email of a settled one."""
        if not self.count:
            return False
        index, settled = self.table.index, self.settled_rows
        emails = set()
        for user in desired:
            if user.__class__ is tuple:
                continue
            number = index.get(normalise(user.object_id))
            if number is not None and (settled[number] if number.__class__ is int else any(settled[n] for n in number)):
                return True
            email = normalise(user.fields.get("email"))
            if email:
                emails.add(email)
        for item in skipped:
            number = index.get(normalise(item.get("object_id") if isinstance(item, dict) else item))
            if number.__class__ is int and settled[number]:
                return True
        if emails:
            for number, flag in enumerate(settled):
                if flag and normalise(self.table.value(number, "email")) in emails:
                    return True
        return False

    def finish(self, desired, skipped=()):
        """(desired, staff, settled count, whether everyone was put back) for reconcile.plan(..., settled=count)."""
        if self.needs_everyone(desired, skipped):
            return [self.restore(user) if user.__class__ is tuple else user for user in desired], self.table.records(), 0, True
        return [user for user in desired if user.__class__ is not tuple], self.table.records(self.settled_rows), self.count, False
