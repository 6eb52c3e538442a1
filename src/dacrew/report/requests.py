"""How an approval's exact request is shown to the person deciding it: the SQL, the dbt command and
selection (and the project files that hold it), the Tableau or Orchestra target — with its digest."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def describe_request(request: Mapping[str, Any] | None, digest: str = "") -> str:
    """One line (SQL keeps its own lines) naming exactly what an approval covers; '' for nothing."""
    if not request:
        return f"digest {digest}" if digest else ""
    text = _describe(request)
    return f"{text} (digest {digest})" if digest else text


def _describe(request: Mapping[str, Any]) -> str:
    if "sql" in request:
        where = ", ".join(str(request[k]) for k in ("dialect", "target") if request.get(k))
        return f"{request.get('tool', 'SQL')} ({where}): {str(request['sql']).strip()}".replace(" ()", "")
    if "command" in request:
        parts = [f"dbt {request['command']}"]
        for flag in ("select", "exclude", "target"):
            if request.get(flag):
                parts.append(f"--{flag} {request[flag]}")
        if request.get("full_refresh"):
            parts.append("--full-refresh")
        if request.get("inline"):
            parts.append(f"--inline {request['inline']!r}")
        code: list[Any] = list(request.get("code") or [])
        if code:
            files = "; ".join(f"{c[0]} (sha256 {c[1]}): {c[2]}" for c in code if len(c) == 3)
            parts.append(f"— project code: {files}")
        return " ".join(parts)
    shown = ", ".join(f"{k}={v}" for k, v in request.items() if v not in (None, "", [], {}))
    return shown
