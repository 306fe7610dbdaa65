"""The sandbox: Entra login, Microsoft Graph v1.0 and the Coconut API on 127.0.0.1.

    python3 tests/sandbox/serve.py --scenario FILE --vars-out FILE [--latency-ms N] [--port-base N]

The contract is ../shared/sandbox.md (and the Coconut details in docs/architecture.md).
One process, three HTTPS listeners (login, graph, coconut) with certificates from one
throwaway CA; writing the vars file is the ready signal; SIGTERM/SIGINT stop it.
The parts live in tests/sandbox/services/ (state, login, graph, coconut, control, server); this
file is only the command.

Control endpoints, under ``/_sandbox`` on the Coconut listener, no auth:

- ``GET /state``, ``PUT /state`` (scenario format; PUT replaces everything, regenerates
  missing ids and invalidates every Graph delta token).
- ``GET /requests``, ``DELETE /requests``: the request log, oldest first,
  ``{service, method, path, status}``; ``status`` is null for a dropped connection.
- ``GET /faults``, ``PUT /faults``: injected faults (see ``Fault``). ``times: null`` (or a
  negative number) means forever. Faults are tried in list order; the first that fires wins.
  ``delay: seconds`` without ``status`` serves the request normally and answers that much
  later (a slow response: past a client's timeout the write is done but its answer lost).
- ``PATCH /entra``, ``PATCH /coconut``: each top-level key given replaces that key of the
  part (e.g. ``{"users": [...]}`` or ``{"token_lifetime_seconds": 5}``). For a list of
  records (entra: users, groups, applications; coconut: users, locations, user_groups,
  api_tokens) an object ``{"add": [...], "update": [{id, ...fields}], "remove": [ids]}``
  edits the list instead: update merges the given fields into the record with that id
  (``app_id`` for applications); remove takes ids; add appends (missing ids generated).
- ``POST /delta/invalidate``: every Graph delta and skip token answers 410 from now on.

Extra scenario keys the sandbox understands: ``entra.token_lifetime_seconds`` (3599),
``entra.secret_propagation_seconds`` (0), ``entra.delta_members_per_item`` (500: like
Graph, a big group's ``members@delta`` is split over several entries of the same group),
``coconut.unique_object_id`` (true; false drops the 409 ``duplicate_object_id`` on a second staff record
with the same Entra object id), ``coconut.invites`` (written by the sandbox: one ``{user_id, email, sent_at}`` per
``meta.send_invite: true``). Secrets may carry ``start`` (ISO time; set by addPassword).
"""

import sys

from services.server import main  # run as a script, tests/sandbox is first on sys.path

if __name__ == "__main__":
    sys.exit(main())
