"""Secrets never reach findings, events, reports or cassettes: everything written goes through here.

Two nets: the values of secret environment variables present now (exact matches, wherever they
appear), and patterns that look like credentials whatever their source (Anthropic keys, bearer tokens,
``password=…``, ``x-api-key`` headers).
"""

from __future__ import annotations

import os
import re
from typing import Any, cast

MASK = "***"
SECRET_ENV = ("ANTHROPIC_API_KEY", "DACREW_TABLEAU__TOKEN_SECRET", "DACREW_ORCHESTRA__API_KEY")
_NAME_MARKERS = ("SECRET", "PASSWORD", "TOKEN", "API_KEY")
_MIN_LEN = 8
# Short values of the named secrets are masked too, but not one- to three-character ones, which would
# mangle ordinary text.
_MIN_LEN_NAMED = 4

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"sk-ant-[A-Za-z0-9_\-]{6,}"), MASK),
    (re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=\-]{6,}"), r"\1" + MASK),
    (
        re.compile(r"""(?i)(["']?\b(?:password|passwd|pwd|x-api-key|api[_-]?key)["']?\s*[:=]\s*["']?)[^\s"',;&}]+"""),
        r"\1" + MASK,
    ),
)
_SECRET_KEY = re.compile(r"(?i)(password|passwd|secret|api[_-]?key|authorization|access[_-]?token)")


def secret_values() -> list[str]:
    """Values of secret environment variables set now, longest first (so a longer one wins)."""
    values: set[str] = set()
    for name, value in os.environ.items():
        upper = name.upper()
        named = upper in SECRET_ENV and len(value) >= _MIN_LEN_NAMED
        marked = any(marker in upper for marker in _NAME_MARKERS) and len(value) >= _MIN_LEN
        if named or marked:
            values.add(value)
    return sorted(values, key=len, reverse=True)


def redact_text(text: str, secrets: list[str] | None = None) -> str:
    """``text`` with every secret value and credential-looking pattern replaced by ``***``
    (``secrets``: the values to mask, default :func:`secret_values` now)."""
    for value in secret_values() if secrets is None else secrets:
        if value in text:
            text = text.replace(value, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_obj(obj: Any, secrets: list[str] | None = None) -> Any:
    """A copy of ``obj`` (dicts, lists, tuples, strings, scalars) with secrets masked in every string;
    a string under a key named like a secret (``password``, ``api_key``…) is masked whole."""
    if secrets is None:
        secrets = secret_values()  # once per object, not once per string
    if isinstance(obj, str):
        return redact_text(obj, secrets)
    if isinstance(obj, dict):
        mapping = cast(dict[Any, Any], obj)
        out: dict[Any, Any] = {}
        for key, value in mapping.items():
            if isinstance(key, str) and isinstance(value, str) and value and _SECRET_KEY.search(key):
                out[key] = MASK
            else:
                out[key] = redact_obj(value, secrets)
        return out
    if isinstance(obj, list | tuple):
        items = [redact_obj(v, secrets) for v in cast(list[Any], obj)]
        return items if isinstance(obj, list) else tuple(items)
    return obj
