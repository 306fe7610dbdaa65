"""The sandbox's parts, each readable on its own; tests/sandbox/serve.py is the command that starts them.

- common: constants, helpers, the Reply that ends a request, each service's error shape, faults
- state: Sandbox, the one object the HTTP layer talks to (scenario, request log, faults, page cache)
- login, graph, coconut: each service's behaviour, a mixin of Sandbox plus its per-request class
- control: the /_sandbox control API, a mixin of Sandbox
- server: the HTTP layer (TLS listeners, parsing, answers) and the command line
"""
