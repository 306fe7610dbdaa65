# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""apply_plan(): write a Plan (reconcile.plan's output) to Coconut, in bulk, with bounded concurrency.

Order: user groups the plan needs ("new:<name>" placeholders), then creates, then updates
(adoptions, restores), then archives last, so a run that fails midway has archived nobody
it should not have. Per-item failures do not stop the others; they are raised together at
the end, and a rerun converges because the planner only plans what is still missing.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.coconut.entra.plugins.module_utils.coconut import BULK_LIMIT
from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.http import ServiceUnreachable, jsonapi_error
from ansible_collections.coconut.entra.plugins.module_utils.reconcile import integration_mark, normalise
from ansible_collections.coconut.entra.plugins.module_utils.safe_text import from_server, shown

NEW_GROUP = "new:"


def _chunks(items, size):
    return [items[i:i + size] for i in range(0, len(items), size)]


def _run_chunks(chunks, send, concurrency):
    """[(chunk, results | CoconutEntraError)] in chunk order; several chunks in flight, at most `concurrency`."""
    def one(chunk):
        try:
            return chunk, send(chunk)
        except CoconutEntraError as exc:
            return chunk, exc

    if not chunks:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(chunks))), thread_name_prefix="coconut-apply") as pool:
        return list(pool.map(one, chunks))


def _resolve_user_groups(client, plan, done):
    """Create the Coconut user groups the plan names as "new:<name>"; {placeholder: id}."""
    wanted = []
    for item in plan.get("create") or []:
        wanted.append((item.get("fields") or {}).get("user_group_id"))
    for item in plan.get("update") or []:
        wanted.append((item.get("after") or {}).get("user_group_id"))
    names = []
    for value in wanted:
        if isinstance(value, str) and value.startswith(NEW_GROUP) and value[len(NEW_GROUP):] not in names:
            names.append(value[len(NEW_GROUP):])
    if not names:
        return {}
    # The plan may be older than Coconut's state (check mode, then apply): reuse groups made since.
    # Names compare as the planner matched them (case-folded, trimmed): a group made since as "tellers" is "Tellers".
    existing = {}
    for group in client.list_user_groups():
        existing.setdefault(normalise(group.get("name")), group["id"])
    ids = {}
    for name in names:
        key = normalise(name)
        if key not in existing:
            try:
                group = client.create_user_group(name)
            except CoconutEntraError:
                # Another run may have made it since we listed (Coconut answers 422 "taken"): use theirs.
                made = next((g["id"] for g in client.list_user_groups() if normalise(g.get("name")) == key), None)
                if made is None:
                    raise
                existing[key] = made
            else:
                existing[key] = group["id"]
                done["user_groups_created"].append({"id": group["id"], "name": name})
        ids[NEW_GROUP + name] = existing[key]
    return ids


def _substitute(fields, group_ids):
    value = fields.get("user_group_id")
    if isinstance(value, str) and value in group_ids:
        return dict(fields, user_group_id=group_ids[value])
    return dict(fields)


def _entry(item, **extra):
    entry = {"id": item.get("id"), "object_id": item.get("object_id"), "display_name": item.get("display_name")}
    entry.update(extra)
    return entry


def _error_text(error):
    if isinstance(error, CoconutEntraError):
        return error.msg
    error = jsonapi_error(error)
    text = str(error["code"] or error["title"] or "error")
    if error["detail"]:
        text += ": " + str(error["detail"])
    pointer, attribute = error["pointer"], error["meta"].get("attribute")
    if attribute:
        text += f" (field {attribute})"
    elif pointer and pointer.count("/") > 2:
        text += f" (at {pointer})"
    return from_server(text)  # a bulk answer's own words: no echoed token, no terminal control


def _fail_fast(exc):
    """A revoked token or an unreachable service fails every item alike: stop, with that one message."""
    return exc.details.get("status") == 401 or isinstance(exc, ServiceUnreachable)


def apply_plan(client, plan, *, send_invite=False, concurrency=4):
    """Execute `plan` with `client` (a CoconutClient); returns what was done.

    {"created", "updated", "archived", "restored", "user_groups_created": [...], "converged_conflicts": N,
     "requests": N}. Raises CoconutEntraError listing every failed item (name, email, error) when any failed,
    with `applied` (what was done) and `failed` in its details.
    """
    requests_before = client.stats["requests"]
    done = {"created": [], "updated": [], "archived": [], "restored": [], "user_groups_created": [], "converged_conflicts": 0}
    failed = []

    def fail(item, error, action):
        fields = item.get("fields") or item.get("after") or {}
        failed.append({"action": action, "id": item.get("id"), "object_id": item.get("object_id"),
                       "display_name": item.get("display_name"), "email": item.get("email") or fields.get("email"),
                       "error": _error_text(error)})

    def chunk_failed(chunk, exc, action):
        if _fail_fast(exc):
            raise CoconutEntraError(exc.msg, applied=_summary(done, client, requests_before), failed=failed, **exc.details)
        for item in chunk:
            fail(item, exc, action)

    group_ids = _resolve_user_groups(client, plan, done)

    # Creates: each marked synced with its Entra object id, which Coconut keeps unique.
    creates = []
    for item in plan.get("create") or []:
        attrs = _substitute(item.get("fields") or {}, group_ids)
        attrs["integration"] = integration_mark(item["object_id"])  # whatever the plan's fields say: Coconut's 409 convergence keys on it
        creates.append((item, attrs))
    conflicts = []
    for chunk, results in _run_chunks(_chunks(creates, BULK_LIMIT), lambda c: client.bulk_create([attrs for _item, attrs in c], send_invite=send_invite),
                                      concurrency):
        if isinstance(results, CoconutEntraError):
            chunk_failed([item for item, _attrs in chunk], results, "create")
            continue
        for (item, attrs), result in zip(chunk, results):  # noqa: B905 - one result per input by construction; strict= needs Python 3.10
            error = result.get("error")
            if result.get("staff") is not None:
                done["created"].append(_entry(item, id=result["staff"]["id"]))
            elif error and error.get("code") == "duplicate_object_id" and (error.get("meta") or {}).get("id"):
                conflicts.append((item, attrs, str(error["meta"]["id"])))
            else:
                fail(item, error, "create")
    for item, attrs, existing_id in conflicts:
        _converge(client, item, attrs, existing_id, done, fail)

    # Updates (adoptions carry integration, restores carry status: active) and archives: only the `after` values.
    for action, items in (("update", plan.get("update") or []), ("archive", plan.get("archive") or [])):
        pairs = []
        for item in items:
            after = dict(item.get("after") or {})
            if action == "archive":
                after = {"status": "archived"}
            pairs.append((item, _substitute(after, group_ids)))
        for chunk, results in _run_chunks(_chunks(pairs, BULK_LIMIT), lambda c: client.bulk_update([(i["id"], a) for i, a in c]), concurrency):
            if isinstance(results, CoconutEntraError):
                chunk_failed([item for item, _attrs in chunk], results, action)
                continue
            for (item, attrs), result in zip(chunk, results):  # noqa: B905 - one result per input by construction; strict= needs Python 3.10
                if result.get("staff") is None:
                    fail(item, result.get("error"), action)
                elif action == "archive":
                    done["archived"].append(_entry(item))
                elif item.get("restore"):
                    done["restored"].append(_entry(item, fields=sorted(attrs)))
                else:
                    done["updated"].append(_entry(item, fields=sorted(attrs)))

    summary = _summary(done, client, requests_before)
    if failed:
        lines = "; ".join(f"{f['action']} {shown(f['display_name'] or f['id'] or f['object_id'])}"
                          f"{' <' + shown(f['email']) + '>' if f.get('email') else ''}: {f['error']}" for f in failed)
        raise CoconutEntraError(f"{len(failed)} change(s) to Coconut staff failed: {lines}. The other changes were applied "
                                f"({len(done['created'])} created, {len(done['updated'])} updated, {len(done['restored'])} restored, "
                                f"{len(done['archived'])} archived); fix the cause and run the sync again: a rerun converges, "
                                "it only does what is still missing.", applied=summary, failed=failed)
    return summary


def _converge(client, item, attrs, existing_id, done, fail):
    """A create answered 409 duplicate_object_id: the staff exists (another run made it). Make it as desired."""
    try:
        existing = client.get_staff(existing_id)
        if existing is None:
            fail(item, {"code": "duplicate_object_id", "detail": f"Coconut reports staff {existing_id} holds this Entra "
                        "object id, but it cannot be read"}, "create")
            return
        changes = {name: value for name, value in attrs.items() if existing.get(name) != value}
        if existing.get("status") != "active":
            changes["status"] = "active"
        if changes:
            client.update_staff(existing_id, changes)
        done["converged_conflicts"] += 1
        done["updated"].append(_entry(item, id=existing_id, fields=sorted(changes), converged=True))
    except CoconutEntraError as exc:
        if _fail_fast(exc):
            raise
        fail(item, exc, "create")


def _summary(done, client, requests_before):
    summary = dict(done)
    summary["requests"] = client.stats["requests"] - requests_before
    return summary
