# Copyright: (c) 2026, coconut.entra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Entra user -> Coconut staff fields, through Jinja2 expressions evaluated in a sandbox.

Each staff field is an *expression* over `user` (a plain dict of Graph user attributes), not a
`{{ }}` template, so Ansible's own templating leaves it alone on the way to the module. Values
coming from Entra are data: they are never evaluated, only passed through the expressions.
Pure: no I/O.
"""

from __future__ import annotations

import functools
import inspect
import re
import traceback

from ansible_collections.coconut.entra.plugins.module_utils.errors import CoconutEntraError
from ansible_collections.coconut.entra.plugins.module_utils.graph import BROAD_USER_FIELDS, REQUIRED_USER_FIELDS
from ansible_collections.coconut.entra.plugins.module_utils.reconcile import DesiredStaff
from ansible_collections.coconut.entra.plugins.module_utils.rules import INVALID_USER_CHOICES, INVALID_USERS_DEFAULT
from ansible_collections.coconut.entra.plugins.module_utils.safe_text import shown

try:
    import jinja2
    from jinja2 import nodes
    from jinja2.compiler import CodeGenerator
    from jinja2.parser import Parser
    from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
except ImportError:
    HAS_JINJA2 = False
    JINJA2_IMPORT_ERROR = traceback.format_exc()
    ImmutableSandboxedEnvironment = CodeGenerator = object
else:
    HAS_JINJA2 = True
    JINJA2_IMPORT_ERROR = None

DEFAULT_MAPPING = {
    "first_name": "user.givenName",
    "last_name": "user.surname",
    "email": "user.mail or user.userPrincipalName",
    "job_title": "user.jobTitle",
}
MAPPABLE_FIELDS = ("first_name", "last_name", "email", "username", "external_id", "job_title", "language")
REQUIRED_FIELDS = ("first_name", "last_name", "email")

# Always read: the object id identifies the user, displayName feeds match rule B and reports,
# accountEnabled decides the scope, mail and userPrincipalName feed the possible-duplicate check.
ALWAYS_SELECTED = REQUIRED_USER_FIELDS + ("mail", "userPrincipalName")
# What Coconut accepts (the same rule as its API): an email is something@domain.tld with no spaces,
# a language code has 2 to 5 characters. A value it would refuse makes the user invalid in the plan,
# so check mode reports what the real run would meet.
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_LANGUAGE_LENGTH = (2, 5)
# Read when an expression uses `user` in a way static analysis cannot follow: see graph.BROAD_USER_FIELDS.
BROAD_SELECT = BROAD_USER_FIELDS
_DICT_METHODS = frozenset(name for name in dir(dict) if not name.startswith("_"))
# Guards against expressions that would exhaust memory or CPU ('x' * 10**9, 9 ** 9 ** 9, 'x'|center(10**8),
# '%0100000000d'|format(1)): no operation may build a string or list larger than _MAX_SIZE characters or items, checked
# before it runs where the size can be foreseen, and on its result always. A field's value is at most _MAX_FIELD long.
_MAX_REPEAT = _MAX_SIZE = 100000
_MAX_EXPONENT = 1000
_MAX_FIELD = 4096
_LISTING_CAP = 20
_MISSING = None  # what an undefined `user.X` becomes at the end of an expression (undefined_to_none)
# Expressions of the fast shapes (`user.X`, quoted text, `or`) are mapped by plain Python written for each Mapping.
# False maps every user through Jinja2, the general path: the equivalence test (test_mapping_fast_path.py) compares
# the two, so the fast path has no rules of its own.
FAST_PATHS = True


def _blank(value):
    """Null, or text of only whitespace: no value (so `user.mail or user.userPrincipalName` falls back)."""
    return value is None or (isinstance(value, str) and not value.strip())


class _NullResult(Exception):
    """An expression turned a null into text or a number (`user.jobTitle | trim`, `'EMP-' ~ user.employeeId`):
    its result depends on a null, so the field is null, never the text "None"."""


if HAS_JINJA2:
    class _Null(jinja2.ChainableUndefined):
        """A null (or missing, or blank) Graph attribute: false, chainable, a test or `default` sees it as
        undefined. Filters, `~`, arithmetic and method calls over it give it back (the sandbox below); anything
        else that would make text or a number of it raises _NullResult, which makes the whole field null."""

        __slots__ = ()

        def __init__(self, hint=None, obj=jinja2.utils.missing, name=None, exc=None):
            super().__init__(hint=hint, obj=obj, name=name, exc=_NullResult)

        def __str__(self):
            raise _NullResult()

        __html__ = __str__
else:
    _Null = None


def _null_propagating(func):
    """A filter that gives a null back for a null value (`user.jobTitle | trim` is null), without calling `func`."""
    position = 1 if getattr(func, "jinja_pass_arg", None) is not None else 0  # after the context/environment argument

    @functools.wraps(func)
    def filter_(*args, **kwargs):
        if len(args) > position and isinstance(args[position], _Null):
            return args[position]
        return func(*args, **kwargs)
    return filter_


class _CodeGenerator(CodeGenerator):
    def visit_Concat(self, node, frame):
        # `a ~ b` through the environment, so that a null operand makes the result null (str_join would give "None"/"").
        self.write("environment.concat_values((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class _Sandbox(ImmutableSandboxedEnvironment):
    """Immutable sandbox where a dict's keys win over its methods and unsafe access fails loudly."""

    intercepted_binops = frozenset(["*", "**", "+", "-", "/", "//", "%"])
    code_generator_class = _CodeGenerator

    @staticmethod
    def concat_values(values):
        for value in values:
            if isinstance(value, _Null):
                return value
        return _bounded("".join(map(str, values)), "the ~ operation")

    def getattr(self, obj, attribute):
        # Graph data first: `user.items` means an attribute named items, not dict.items.
        if isinstance(obj, dict) and isinstance(attribute, str) and attribute in obj:
            value = obj[attribute]
            if value is None or (value.__class__ is str and (not value or value.isspace())):  # _blank, inlined: the hot path
                return self.undefined(obj=obj, name=attribute)
            return value
        return super().getattr(obj, attribute)

    def getitem(self, obj, argument):
        if isinstance(obj, dict) and isinstance(argument, str) and argument in obj:
            value = obj[argument]
            return self.undefined(obj=obj, name=argument) if _blank(value) else value
        return super().getitem(obj, argument)

    def unsafe_undefined(self, obj, attribute):
        # The stock sandbox returns an Undefined (which would map to None); an escape attempt should be an error.
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe")

    def call_binop(self, context, operator, left, right):
        for operand in (left, right):
            if isinstance(operand, _Null):
                return operand  # 'EMP-%s' % null, null + 1: null
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(count, int) and _size(seq) * count > _MAX_REPEAT:
                    raise SecurityError(f"repetition result too large (more than {_MAX_REPEAT} items)")
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > _MAX_EXPONENT:
            raise SecurityError(f"exponent {right!r} too large (at most {_MAX_EXPONENT})")
        if operator == "%" and isinstance(left, str):
            _check_format(left, right if isinstance(right, (tuple, list)) else (right,))
        return _bounded(super().call_binop(context, operator, left, right), f"the {operator} operation")

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805  # pylint: disable=no-self-argument  # as Jinja2 names it: a keyword "self" stays free
        if isinstance(__obj, _Null):
            return __obj  # user.mail.split('@') over a null mail: null
        # str.format and format_map arrive wrapped by the sandbox (wrap_str_format): look at the method underneath.
        target = getattr(__obj, "__wrapped__", __obj)
        owner, name = getattr(target, "__self__", None), getattr(target, "__name__", "")
        if isinstance(owner, str):
            _check_str_method(owner, name, args, kwargs)
        result = _bounded(super().call(__context, __obj, *args, **kwargs), f"{name or 'the call'}()")
        # `user.get('jobTitle')` gives None for a null: the same null as `user.jobTitle`.
        return __self.undefined() if _blank(result) else result


def _size(value, memo=None):
    """Characters of a string; for a list, the sizes of its items added up through nesting (a list repeated inside a
    list counts each time); 1 for anything else. Each distinct object is measured once, so measuring stays cheap
    even for what it refuses."""
    if isinstance(value, (str, bytes)):
        return len(value)
    if not isinstance(value, (list, tuple, dict)):
        return 1
    memo = {} if memo is None else memo
    if id(value) not in memo:
        memo[id(value)] = 1  # a self-reference counts as one item
        items = value.values() if isinstance(value, dict) else value
        memo[id(value)] = sum(max(1, _size(item, memo)) for item in items)
    return memo[id(value)]


def _too_large(what, size):
    raise SecurityError(f"{what} would build {size} characters or items (at most {_MAX_SIZE})")


def _bounded(result, what):
    if isinstance(result, str):  # the common case, kept cheap: 100,000 users run this several times each
        if len(result) > _MAX_SIZE:
            _too_large(what, len(result))
        return result
    if isinstance(result, (list, tuple, dict)):
        size = _size(result)
        if size > _MAX_SIZE:
            _too_large(what, size)
    return result


_NUMBERS = re.compile(r"\d+")


def _check_format(template, args):
    """A %- or {}-format whose width or precision (written in it, or given as an argument by * or {}) is too large."""
    if any(int(run) > _MAX_SIZE for run in _NUMBERS.findall(template) if len(run) <= 12) or any(len(run) > 12 for run in _NUMBERS.findall(template)):
        _too_large("the format " + repr(template[:40]), "a field width of more than %d" % _MAX_SIZE)
    if ("*" in template or re.search(r"\{[^{}]*\{", template)) and any(
            isinstance(arg, (int, float)) and not isinstance(arg, bool) and abs(arg) > _MAX_SIZE for arg in args):
        _too_large("the format " + repr(template[:40]), "a field width of more than %d" % _MAX_SIZE)


def _number(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _check_str_method(text, name, args, kwargs):
    """Foresee the size of the str methods that can grow a string far beyond their inputs."""
    values = list(args) + list(kwargs.values())
    if name in ("center", "ljust", "rjust", "zfill") and values and _number(values[0]) > _MAX_SIZE:
        _too_large(f"{name}()", values[0])
    elif name == "expandtabs" and values and _number(values[0]) * text.count("\t") > _MAX_SIZE:
        _too_large("expandtabs()", _number(values[0]) * text.count("\t"))
    elif name == "replace" and len(values) >= 2 and isinstance(values[0], str) and isinstance(values[1], str):
        size = len(text) + (text.count(values[0]) if values[0] else len(text) + 1) * len(values[1])
        if size > _MAX_SIZE:
            _too_large("replace()", size)
    elif name == "join" and values and isinstance(values[0], (list, tuple)):
        size = _size(values[0]) + len(text) * len(values[0])
        if size > _MAX_SIZE:
            _too_large("join()", size)
    elif name in ("format", "format_map"):
        _check_format(text, values)


def _filter_size(name, a):
    """The size a built-in filter's result will have, foreseen from its arguments by name (0 when it cannot grow much)."""
    if name == "center":
        return _number(a.get("width", 80))
    if name == "indent":
        width = a.get("width", 4)
        per_line = len(width) if isinstance(width, str) else _number(width)
        return per_line * (str(a.get("s", "")).count("\n") + 1)
    if name == "wordwrap":
        text, width = str(a.get("s", "")), max(1, _number(a.get("width", 79)))
        return len(text) + (len(text) // width + 1) * len(a.get("wrapstring") or "\n")
    if name == "join":
        items = a.get("value")
        return _size(items) + len(str(a.get("d", ""))) * len(items) if isinstance(items, (list, tuple)) else 0
    if name == "replace":
        text, old, new = str(a.get("s", "")), str(a.get("old", "")), str(a.get("new", ""))
        return len(text) + (text.count(old) if old else len(text) + 1) * len(new)
    if name == "sum":
        items = a.get("iterable")
        return _size(items) + _size(a.get("start", 0)) if isinstance(items, (list, tuple)) else 0
    if name in ("batch", "slice"):
        return _number(a.get("linecount", a.get("slices", 0)))
    if name == "truncate":
        return _number(a.get("length", 255)) + len(str(a.get("end", "")))
    if name == "format":
        _check_format(str(a.get("value", "")), [v for k, v in a.items() if k != "value" and not isinstance(v, (list, tuple))]
                      + list(a.get("args") or ()))
    return 0


_PASSED = ("environment", "eval_ctx", "context")


# The filters whose result can be much larger than their inputs: their arguments are checked before they run.
_GROWING_FILTERS = frozenset(("center", "indent", "wordwrap", "join", "replace", "sum", "batch", "slice", "truncate", "format"))


def _guarded_filter(name, function):
    """A built-in filter that refuses, before running, to build more than _MAX_SIZE, and checks its result too."""
    what = f"the {name} filter"
    if name not in _GROWING_FILTERS:
        @functools.wraps(function)  # keeps jinja_pass_arg
        def checked(*args, **kwargs):
            return _bounded(function(*args, **kwargs), what)

        return checked
    try:
        # Jinja passes the environment, eval context or context first; some filters' signatures (those made by
        # async_variant) do not show it. Name the value and the arguments only (zip, not bind: bind is slow).
        names = [p.name for p in inspect.signature(function).parameters.values()
                 if p.name not in _PASSED and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        names = None

    skip = 0 if getattr(function, "jinja_pass_arg", None) is None else 1  # the environment / context Jinja passes first

    @functools.wraps(function)  # keeps jinja_pass_arg: Jinja passes the environment or context as before
    def guarded(*args, **kwargs):
        if names is not None:
            values = args[skip:]
            arguments = {names[i]: values[i] for i in range(min(len(names), len(values)))}
            arguments.update(kwargs)
            if len(values) > len(names):  # *args (format's): keep them for the format check
                arguments["args"] = values[len(names):]
            size = _filter_size(name, arguments)
            if size > _MAX_SIZE:
                _too_large(what, size)
        return _bounded(function(*args, **kwargs), what)

    return guarded


def _environment():
    env = _Sandbox(undefined=_Null, autoescape=False)
    env.tests["none"] = lambda value: value is None or isinstance(value, jinja2.Undefined)  # a null attribute is still `none`
    # Only `user` is in reach. Builtin filters and tests stay; range/lipsum/cycler/joiner/namespace
    # go (no use in a field expression; namespace is a mutable object). `dict` stays: it only
    # builds a dict, handy as a lookup table (dict(CA='en', FR='fr')[user.country]).
    env.globals.clear()
    env.globals["dict"] = dict
    # Every filter refuses to build too much; all but default give a null back for a null (`user.jobTitle | trim`).
    env.filters = {name: _guarded_filter(name, function) for name, function in env.filters.items()}
    env.filters = {name: function if name in ("default", "d") else _null_propagating(function) for name, function in env.filters.items()}
    return env


def _parse(env, source):
    parser = Parser(env, source, state="variable")
    expr = parser.parse_expression()
    if not parser.stream.eos:
        raise jinja2.TemplateSyntaxError(f"unexpected {parser.stream.current.value!r}", parser.stream.current.lineno)
    return expr


def _unknown_names(expr):
    """Names other than `user` and `dict` an expression reads: each would be undefined, which maps to null."""
    names = [expr] if isinstance(expr, nodes.Name) else list(expr.find_all(nodes.Name))  # find_all skips the root
    return sorted({node.name for node in names if node.ctx == "load"} - {"user", "dict"})


def _referenced_attributes(expr):
    """The Graph attributes `expr` reads from `user`, or None when it reads `user` dynamically."""
    found = set()
    dynamic = False

    def visit(node, parent, grandparent):
        nonlocal dynamic
        if isinstance(node, nodes.Name) and node.name == "user":
            if isinstance(parent, nodes.Getattr) and parent.node is node:
                if parent.attr not in _DICT_METHODS:
                    found.add(parent.attr)
                elif parent.attr == "get" and isinstance(grandparent, nodes.Call) and grandparent.node is parent \
                        and grandparent.args and isinstance(grandparent.args[0], nodes.Const) \
                        and isinstance(grandparent.args[0].value, str):
                    found.add(grandparent.args[0].value)
                else:
                    dynamic = True
            elif isinstance(parent, nodes.Getitem) and parent.node is node \
                    and isinstance(parent.arg, nodes.Const) and isinstance(parent.arg.value, str):
                found.add(parent.arg.value)
            else:
                dynamic = True
        for child in node.iter_child_nodes():
            visit(child, node, parent)

    visit(expr, None, None)
    return None if dynamic else found


def _fast_shape(expr):
    """`expr` as the operands of an `or` chain when it is only `user.X`, quoted text and `or`: a list of ("user", name)
    and ("text", constant); None for any other shape.

    Jinja2 builds a new context for every call (about 10 us); at 100,000 users x 4 fields that is seconds.
    These shapes cover the defaults and most mappings, and Python gives exactly what the sandboxed expression gives:
    `user.X` is the value of key X, or undefined (None at the end) when there is none or it is blank; `a or b` is
    Python's `or`. Names of dict methods and private names stay with Jinja2 (the sandbox decides about those).
    """
    if isinstance(expr, nodes.Const) and isinstance(expr.value, str):
        return [("text", expr.value)]
    if isinstance(expr, nodes.Getattr) and isinstance(expr.node, nodes.Name) and expr.node.name == "user" \
            and expr.ctx == "load" and expr.attr not in _DICT_METHODS and not expr.attr.startswith("_") and expr.attr.isidentifier():
        return [("user", expr.attr)]
    if isinstance(expr, nodes.Or):
        left, right = _fast_shape(expr.left), _fast_shape(expr.right)
        if left is not None and right is not None:
            return left + right
    return None


def _fast_path(shape):
    """A plain Python function giving the value of the expression whose `_fast_shape` is `shape`."""
    def evaluate(user):
        value = _MISSING
        for kind, operand in shape:
            if kind == "text":
                value = operand
            else:
                value = user.get(operand, _MISSING)
                if value.__class__ is str and (not value or value.isspace()):
                    value = _MISSING  # blank is null, as in the sandbox
            if value:
                break  # `a or b`: the first true operand, else the last one
        return value
    return evaluate


def _reached(shape):
    """The operands `a or b or ...` can give: none after a true constant; an empty constant only at the end."""
    reached = []
    for number, (kind, operand) in enumerate(shape):
        if kind == "text" and not operand and number < len(shape) - 1:
            continue  # '' or x is x
        reached.append((kind, operand))
        if kind == "text" and operand:
            break  # 'x' or anything is 'x'
    return reached


def _field_source(field, shape, var):
    """Python lines setting `var` to the value `map_user` would give the field, or returning None from the function
    for anything but a plain text Coconut takes (or a null where the field allows one): the general path decides those."""
    shape = _reached(shape)
    null_allowed = field not in REQUIRED_FIELDS and refused_value(field, None) is None
    refused = _REFUSED_TEXT.get(field)
    if len(shape) == 1 and shape[0][0] == "text":  # a constant: trimmed and checked once, here
        text = shape[0][1].strip()
        if text and len(text) <= _MAX_FIELD and refused_value(field, text) is None:
            return [f"    {var} = {text!r}"]
        if not text and null_allowed:
            return [f"    {var} = None"]
        return None
    lines = []
    indent = "    "
    for number, (kind, operand) in enumerate(shape):
        if number:
            lines.append(f"{indent}if not {var} or {var}.__class__ is str and {var}.isspace():")  # null or blank: the next one
            indent += "    "
        lines.append(f"{indent}{var} = get({operand!r})" if kind == "user" else f"{indent}{var} = {operand!r}")
    checks = f"len({var}) > {_MAX_FIELD}" + (" or " + refused.format(v=var) if refused else "")
    if null_allowed:
        lines += [f"    if {var}.__class__ is str:",
                  f"        {var} = {var}.strip()",
                  f"        if not {var}:",
                  f"            {var} = None",
                  f"        elif {checks}:",
                  "            return None",
                  f"    elif {var} is not None:",
                  "        return None"]
    else:
        lines += [f"    if {var}.__class__ is not str:",
                  "        return None",
                  f"    {var} = {var}.strip()",
                  f"    if not {var} or {checks}:",
                  "        return None"]
    return lines


def _fast_mapper(shapes):
    """One Python function mapping a whole user, `shapes` being each field's `_fast_shape`: the fields dict when every
    field is a plain text Coconut takes (or a null where allowed), else None; or None when a constant is refused.

    No Jinja2 and no call per field: at 100,000 users the per-field functions and checks cost more than the reads. The
    source is written here from the parsed expressions only: attribute names (identifiers) and constants go in through
    repr() literals, so no text from the inventory or from Graph is ever run as code.
    """
    lines = ["def map_fast(user):", "    get = user.get"]
    result = []
    for number, (field, shape) in enumerate(shapes.items()):
        body = _field_source(field, shape, f"v{number}")
        if body is None:
            return None
        lines += body
        result.append(f"{field!r}: v{number}")
    lines.append("    return {" + ", ".join(result) + "}")
    namespace = {"_email_match": EMAIL.match}
    code = compile("\n".join(lines) + "\n", "<coconut_staff_mapping fast path>", "exec")
    exec(code, namespace)  # noqa: S102  # pylint: disable=exec-used  # code written above from the parsed expressions
    return namespace["map_fast"]


def _describe(value):
    return type(value).__name__


class Mapping:
    """The staff field expressions: DEFAULT_MAPPING with `overrides` merged over it, validated eagerly.

    In `overrides`, a field set to None is not mapped (never written); required fields cannot be unmapped.
    """

    def __init__(self, overrides=None):
        if not HAS_JINJA2:
            raise CoconutEntraError("the staff mapping needs the Python library jinja2; install it where the module runs")
        if overrides is None:
            overrides = {}
        if not isinstance(overrides, dict):
            raise CoconutEntraError(f"coconut_staff_mapping must be a dict of staff field -> Jinja2 expression over `user`; "
                                    f"got {_describe(overrides)}")
        unknown = sorted(str(field) for field in overrides if field not in MAPPABLE_FIELDS)
        if unknown:
            raise CoconutEntraError(f"coconut_staff_mapping has unknown staff field(s) {', '.join(unknown)}; "
                                    f"the fields that can be mapped are {', '.join(MAPPABLE_FIELDS)}")
        merged = dict(DEFAULT_MAPPING)
        merged.update(overrides)
        self._env = _environment()
        self.expressions = {}
        self._compiled = {}
        parsed = []
        shapes = {}
        select = set(ALWAYS_SELECTED)
        dynamic = False
        for field in MAPPABLE_FIELDS:
            if field not in merged:
                continue
            source = merged[field]
            if source is None:
                if field in REQUIRED_FIELDS:
                    raise CoconutEntraError(f"coconut_staff_mapping.{field} is null, but {field} is required ({', '.join(REQUIRED_FIELDS)} "
                                            f"are always written); give it an expression over `user`, for example {DEFAULT_MAPPING[field]}")
                continue
            self._check_source(field, source)
            try:
                expr = _parse(self._env, source)
                compiled = self._env.compile_expression(source, undefined_to_none=True)
            except jinja2.TemplateSyntaxError as exc:
                raise CoconutEntraError(f"coconut_staff_mapping.{field}: the expression {source!r} does not compile: {exc.message}. Write a Jinja2 expression "
                                        "over `user` (for example user.givenName), and quote constants (\"'en'\")", field=field) from None
            unknown = _unknown_names(expr)
            if unknown:
                # Undefined would quietly become null, and null clears that field for every staff member.
                raise CoconutEntraError(f"coconut_staff_mapping.{field}: {', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not defined "
                                        f"in {source!r}: only `user` (the Entra user's attributes) and `dict` are in reach; write user.<attribute>, "
                                        "and quote constants (\"'en'\")", field=field, names=unknown)
            self.expressions[field] = source
            self._compiled[field] = compiled
            shapes[field] = _fast_shape(expr) if FAST_PATHS else None
            parsed.append(nodes.Assign(nodes.Name(field, "store"), expr))
            attributes = _referenced_attributes(expr)
            if attributes is None:
                dynamic = True
            else:
                select.update(name for name in attributes if not name.startswith("_"))  # the sandbox refuses those anyway
        if dynamic:
            select.update(BROAD_SELECT)
        self.fields = tuple(self.expressions)
        self._select = sorted(select)
        self._all_fields = self._compile_all(parsed)
        # Plain Python when every field has a fast shape (the defaults do): no Jinja2 context per user at all.
        fast = all(shape is not None for shape in shapes.values())
        self._fast = {field: _fast_path(shape) for field, shape in shapes.items()} if fast else None
        self._map_fast = _fast_mapper(shapes) if fast else None

    def _compile_all(self, assignments):
        """One sandboxed template assigning every field: one Jinja2 context per user instead of one per field
        (three times faster at 100,000 users). Same code generator, so the same sandbox checks."""
        template = nodes.Template(assignments, lineno=1)
        template.set_environment(self._env)
        return self._env.template_class.from_code(self._env, self._env.compile(template), self._env.make_globals(None), None)

    def _evaluate(self, user):
        """field -> (value, None) or (None, error message)."""
        if self._fast is not None:
            return {field: (evaluate(user), None) for field, evaluate in self._fast.items()}
        try:
            context = self._all_fields.new_context({"user": user})
            list(self._all_fields.root_render_func(context))  # the assignments produce no output
            values = context.vars
        except Exception:  # noqa: BLE001 - some expression failed for this user: evaluate one by one below to say which
            values = None
        if values is not None:
            return {field: (None if isinstance(values.get(field), jinja2.Undefined) else values.get(field), None) for field in self.fields}
        results = {}
        for field, compiled in self._compiled.items():
            expression = self.expressions[field]
            try:
                results[field] = (compiled(user=user), None)
            except _NullResult:
                results[field] = (None, None)
            except SecurityError as exc:
                results[field] = (None, f"the expression {expression!r} was blocked by the sandbox: {exc}")
            except Exception as exc:  # noqa: BLE001 - any failure of a user's expression is reported per user, not raised
                results[field] = (None, f"the expression {expression!r} failed: {type(exc).__name__}: {exc}")
        return results

    @staticmethod
    def _check_source(field, source):
        if not isinstance(source, str):
            raise CoconutEntraError(f"coconut_staff_mapping.{field} must be a Jinja2 expression string over `user`, or null to not map it; "
                                    f"got {_describe(source)} {source!r}. Quote constants as a string literal, for example \"'en'\"", field=field)
        if not source.strip():
            raise CoconutEntraError(f"coconut_staff_mapping.{field} is empty; give an expression over `user` "
                                    f"(for example {DEFAULT_MAPPING.get(field, 'user.employeeId')}), or null to not map it", field=field)
        if any(mark in source for mark in ("{{", "{%", "{#")):
            bare = re.sub(r"^\{\{-?|-?\}\}$", "", source.strip()).strip()
            raise CoconutEntraError(f"coconut_staff_mapping.{field} is written as a template ({source!r}): drop the {{{{ }}}} braces and write "
                                    f"the bare expression ({bare}); Ansible would otherwise template it before the module sees it", field=field)

    @property
    def graph_select(self):
        """Sorted Graph user attributes to `$select`: id, displayName, accountEnabled and every attribute
        the expressions reference (`user.X`, `user['X']`, `user.get('X')`); BROAD_SELECT as well when an
        expression reads `user` in a way static analysis cannot follow."""
        return list(self._select)

    def map_user(self, user):
        """Evaluate every mapped field for one Entra user: (fields, errors). Never raises for a per-user problem."""
        if self._map_fast is not None:
            # The usual case at 100,000 users: every field a plain string Coconut takes. Anything else (a blank,
            # a number, a refused value) goes the whole way below, which gives the same fields.
            fields = self._map_fast(user)
            if fields is not None:
                return fields, []
        fields = {}
        errors = []
        for field, (value, failure) in self._evaluate(user).items():
            expression = self.expressions[field]
            if failure:
                errors.append({"field": field, "message": failure})
                continue
            if isinstance(value, str):
                value = str(value).strip() or None  # a plain str, even from Markup; written trimmed, blank is null
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                value = str(value)
            elif value is not None:
                errors.append({"field": field, "message": f"the expression {expression!r} gave a {_describe(value)}, but {field} takes text; "
                               "pick one value (for example with | first or | join(' '))"})
                continue
            if isinstance(value, str) and len(value) > _MAX_FIELD:
                errors.append({"field": field, "message": f"the expression {expression!r} gave {len(value)} characters; a staff field "
                               f"takes at most {_MAX_FIELD}"})
                continue
            if field in REQUIRED_FIELDS and value is None:
                errors.append({"field": field, "message": f"missing: {expression} gives no value for this user ({field} is required)"})
                continue
            refused = refused_value(field, value)
            if refused:
                errors.append({"field": field, "message": f"{expression} gives {value!r}, {refused}"})
                continue
            fields[field] = value
        return fields, errors


def refused_value(field, value):
    """Why Coconut would refuse `value` for `field` (mapped and trimmed), or None: the one place that mirrors its checks."""
    if field == "email" and not EMAIL.match(value):
        return "which is not an email address (Coconut needs name@domain, with no spaces)"
    if field == "language" and not (isinstance(value, str) and _LANGUAGE_LENGTH[0] <= len(value) <= _LANGUAGE_LENGTH[1]):
        return "but Coconut needs a language code of 2 to 5 characters (such as en or en-GB)"
    return None


# refused_value's rules over a trimmed text `v`, as conditions (true: refused) the fast mapper writes inline; the
# equivalence test holds them to refused_value.
_REFUSED_TEXT = {
    "email": "_email_match({v}) is None",
    "language": f"not {_LANGUAGE_LENGTH[0]} <= len({{v}}) <= {_LANGUAGE_LENGTH[1]}",
}


def _aliases(user):
    """The addresses the user is known by besides the mapped email: mail and userPrincipalName, trimmed."""
    aliases = ()
    for value in (user.get("mail"), user.get("userPrincipalName")):
        if isinstance(value, str):
            value = value.strip()
            if value and value not in aliases:  # a userPrincipalName equal to mail is kept once
                aliases += (value,)
    return aliases


def map_users(mapping, users, invalid_users=INVALID_USERS_DEFAULT, extras_for=None, settle=None):
    """Map Entra users to DesiredStaff: (desired, invalid).

    `settle(object_id, display_name, fields, aliases)` (staff_table.Settler.settler_for) may return a placeholder for
    a mapped user, which then takes the user's place in `desired` (no DesiredStaff is built for it).

    `extras_for(user)` returns the per-group extras (role, locations, user_group_id) added to the fields.
    With invalid_users="fail", any invalid user raises one CoconutEntraError naming each user and field;
    with "skip", they are returned in `invalid` ({object_id, display_name, email?, errors}).
    """
    if invalid_users not in INVALID_USER_CHOICES:
        raise CoconutEntraError(f"coconut_invalid_users must be {' or '.join(INVALID_USER_CHOICES)}; got {invalid_users!r}")
    desired = []
    invalid = []
    fast = getattr(mapping, "_map_fast", None)
    for user in users:
        fields = fast(user) if fast is not None else None
        object_id = user.get("id")
        if fields is not None and object_id.__class__ is str and object_id:
            mail, upn = user.get("mail"), user.get("userPrincipalName")
            if mail.__class__ is str and upn.__class__ is str:  # _aliases, inlined for the usual case: two texts
                mail, upn = mail.strip(), upn.strip()
                aliases = ((mail,) if mail == upn else (mail, upn)) if mail and upn else _aliases(user)
            else:
                aliases = _aliases(user)
        else:
            fields, errors = mapping.map_user(user)
            if not isinstance(object_id, str) or not object_id:
                errors.insert(0, {"field": "id", "message": "the Entra user has no object id"})
            if errors:
                item = {"object_id": object_id, "display_name": user.get("displayName"), "errors": errors}
                if fields.get("email"):
                    item["email"] = fields["email"]
                invalid.append(item)
                continue
            aliases = _aliases(user)
        if settle is not None:
            held = settle(object_id, user.get("displayName"), fields, aliases)
            if held is not None:
                desired.append(held)
                continue
        if extras_for is not None:
            for key, value in (extras_for(user) or {}).items():
                fields[key] = list(value) if isinstance(value, (list, tuple)) else value
        # Positional (object_id, display_name, fields, aliases): a third cheaper than keywords for a frozen dataclass.
        desired.append(DesiredStaff(object_id, user.get("displayName"), fields, aliases))
    if invalid and invalid_users == "fail":
        raise unmappable_error(invalid)
    return desired, invalid


def unmappable_error(invalid):
    """The one error for invalid_users: fail, naming each user (the first 20) and field."""
    lines = []
    for item in invalid[:_LISTING_CAP]:
        problems = shown("; ".join(f"{err['field']}: {err['message']}" for err in item["errors"]))
        lines.append(f"{shown(item['display_name']) or '(no display name)'} ({shown(item['object_id'])}): {problems}")
    if len(invalid) > _LISTING_CAP:
        lines.append(f"and {len(invalid) - _LISTING_CAP} more")
    listing = "\n  ".join(lines)
    return CoconutEntraError(f"{len(invalid)} Entra user(s) cannot be mapped to Coconut staff, so nothing was written:\n  {listing}\n"
                             "Fix these users in Entra or the expressions in coconut_staff_mapping, or set "
                             "coconut_invalid_users: skip to leave them as they are and sync everyone else.",
                             invalid=invalid)
