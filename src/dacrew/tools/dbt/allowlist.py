"""What dbt project code may reference, per permission: the allow-list the Jinja check holds code to.

Anything not named here — a name, an attribute, a call, a filter — needs a person's approval; some
things are refused outright (see ``REFUSED``). docs/tools-dbt-warehouse.md keeps the table for users.
"""

from __future__ import annotations

# Names that may only be called (``ref('x')``), never used as a value: binding one to a new name
# (``{% set r = ref %}``) or passing it on is refused, so every call the code makes is visible here.
CALLABLE = frozenset(
    {
        "ref",
        "source",
        "config",
        "var",
        "is_incremental",
        "return",
        "log",
        "print",
        "zip",
        "range",
        "dict",
        "namespace",
        "tojson",
        "fromjson",
        "toyaml",
        "fromyaml",
        "set",
        "set_strict",
        "local_md5",
        "diff_of_two_dicts",
        "doc",
        "metric",
        "should_full_refresh",
        "caller",
    }
)

# Values that hold data, not code: may be read, compared, printed and passed on.
DATA = frozenset(
    {
        "this",
        "target",
        "execute",
        "model",
        "graph",
        "invocation_id",
        "run_started_at",
        "flags",
        "database",
        "schema",
        "selected_resources",
        "project_name",
        "dbt_version",
        "column_name",
        "varargs",
        "kwargs",
        "loop",
        "true",
        "false",
        "none",
        "True",
        "False",
        "None",
    }
)

# target's attributes that are not secrets (a password, a key or a token is never read from code).
TARGET_ATTRIBUTES = frozenset(
    {
        "name",
        "target_name",
        "profile_name",
        "schema",
        "database",
        "type",
        "threads",
        "dbname",
        "warehouse",
        "role",
        "user",
        "account",
        "path",
    }
)

# Namespaces whose members may be called; what each allows, per permission (``write`` adds adapter
# helpers that query the warehouse's metadata: they read, but only callers who may build need them).
NAMESPACED: dict[str, frozenset[str]] = {
    "config": frozenset({"config.get", "config.require", "config.set", "config.meta_get", "config.meta_require"}),
    "exceptions": frozenset({"exceptions.raise_compiler_error", "exceptions.warn", "exceptions.raise_not_implemented"}),
    "adapter": frozenset({"adapter.quote", "adapter.quote_as_configured", "adapter.type"}),
    "api": frozenset({"api.Relation.create", "api.Column.create"}),
    "modules": frozenset(),  # prefixes below
}
MODULE_PREFIXES = ("modules.datetime.", "modules.re.", "modules.itertools.", "modules.pytz.")
WRITE_HELPERS = frozenset(
    {
        "adapter.get_relation",
        "adapter.get_columns_in_relation",
        "adapter.get_missing_columns",
        "adapter.check_schema_exists",
        "adapter.list_schemas",
        "load_relation",
    }
)

# dbt's own cross-database macros, read-only (``dbt.date_trunc(…)`` or bare ``date_trunc(…)``).
DBT_MACROS = frozenset(
    {
        "current_timestamp",
        "current_timestamp_backcompat",
        "date_trunc",
        "dateadd",
        "datediff",
        "safe_cast",
        "cast",
        "date",
        "concat",
        "hash",
        "split_part",
        "last_day",
        "listagg",
        "position",
        "replace",
        "right",
        "length",
        "cast_bool_to_text",
        "any_value",
        "bool_or",
        "escape_single_quotes",
        "string_literal",
        "except",
        "intersect",
        "array_construct",
        "array_append",
        "array_concat",
        "type_string",
        "type_int",
        "type_bigint",
        "type_float",
        "type_numeric",
        "type_timestamp",
        "type_boolean",
        "get_where_subquery",
    }
)

# Methods that may be called on data (strings, lists, dicts, relations, datetimes).
SAFE_METHODS = frozenset(
    {
        "lower",
        "upper",
        "strip",
        "lstrip",
        "rstrip",
        "replace",
        "split",
        "startswith",
        "endswith",
        "join",
        "title",
        "capitalize",
        "get",
        "items",
        "keys",
        "values",
        "append",
        "extend",
        "update",
        "pop",
        "insert",
        "index",
        "count",
        "render",
        "include",
        "incorporate",
        "quote",
        "strftime",
        "isoformat",
        "date",
        "now",
        "utcnow",
        "timedelta",
        "search",
        "match",
        "sub",
        "findall",
        "compile",
    }
)

SAFE_FILTERS = frozenset(
    {
        "abs",
        "as_bool",
        "as_native",
        "as_number",
        "as_text",
        "batch",
        "capitalize",
        "center",
        "count",
        "d",
        "default",
        "dictsort",
        "e",
        "escape",
        "first",
        "float",
        "format",
        "groupby",
        "indent",
        "int",
        "is_list",
        "items",
        "join",
        "last",
        "length",
        "list",
        "lower",
        "map",
        "max",
        "min",
        "reject",
        "rejectattr",
        "replace",
        "reverse",
        "round",
        "safe",
        "select",
        "selectattr",
        "slice",
        "sort",
        "string",
        "striptags",
        "sum",
        "title",
        "tojson",
        "trim",
        "truncate",
        "unique",
        "upper",
        "wordcount",
        "wordwrap",
    }
)

SAFE_TESTS = frozenset(
    {
        "boolean",
        "callable",
        "defined",
        "divisibleby",
        "eq",
        "equalto",
        "even",
        "false",
        "float",
        "ge",
        "gt",
        "in",
        "integer",
        "iterable",
        "le",
        "lower",
        "lt",
        "mapping",
        "ne",
        "none",
        "number",
        "odd",
        "sameas",
        "sequence",
        "string",
        "true",
        "undefined",
        "upper",
    }
)

# Refused whatever the approvals: secrets and ways around the check.
REFUSED = {
    "env_var": "env_var in project code can read a secret (only profiles.yml and packages.yml may use it)",
    "context": "the template context exposes every callable by name",
    "builtins": "Python's builtins",
    "render": "render() runs a string as Jinja the check cannot see",
    "self": "the template's own blocks",
}


def allowed_calls(permissions: frozenset[str]) -> frozenset[str]:
    """The dotted calls (``adapter.quote``, ``config.get``…) the holder of ``permissions`` may make."""
    calls: frozenset[str] = frozenset[str]().union(*NAMESPACED.values())
    return calls | WRITE_HELPERS if "write" in permissions else calls
