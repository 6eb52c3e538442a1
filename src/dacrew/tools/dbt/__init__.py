"""dbt: dbt-core's in-process ``dbtRunner`` as typed tools.

- ``toolset``: the dbt tools the model calls (build, run, test, compile, show, ls, parse, docs, freshness).
- ``runner``: one invocation per project at a time, typed node results, the parsed manifest.
- ``guard``: the project's code checked before dbt runs it.
- ``selection``: dbt's node selection syntax, validated.
- ``manifest``: ``dbt_manifest``, the typed view of ``target/manifest.json``.

Connections come from :mod:`dacrew.tools.profiles`; SQL is judged by :mod:`dacrew.tools.sql`.
"""

from __future__ import annotations

from dacrew.tools.dbt.manifest import dbt_manifest
from dacrew.tools.dbt.toolset import (
    dbt_build,
    dbt_compile,
    dbt_docs_generate,
    dbt_ls,
    dbt_parse,
    dbt_run,
    dbt_show,
    dbt_snapshot,
    dbt_source_freshness,
    dbt_test,
)

__all__ = [
    "dbt_build",
    "dbt_compile",
    "dbt_docs_generate",
    "dbt_ls",
    "dbt_manifest",
    "dbt_parse",
    "dbt_run",
    "dbt_show",
    "dbt_snapshot",
    "dbt_source_freshness",
    "dbt_test",
]
