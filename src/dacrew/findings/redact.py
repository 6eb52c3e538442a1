"""Secrets never reach findings, events, reports, cassettes or tool results: everything written goes
through here.

Two nets: the values of secret environment variables present now (exact matches, wherever they
appear), and patterns that look like credentials whatever their source (Anthropic, GitHub and AWS keys,
bearer and basic authorisation, ``password=…`` and ``token=…``, URLs with a password, PEM private keys).
It runs on every finding, event and tool result, so the patterns are compiled once and the secret
values are recomputed only when the environment changes.
"""

from __future__ import annotations

import os
import re
from typing import Any, cast

MASK = "***"
SECRET_ENV = ("ANTHROPIC_API_KEY", "DACREW_TABLEAU__TOKEN_SECRET", "DACREW_ORCHESTRA__API_KEY")
# A variable is secret when a part of its name (split on `_`) is one of these…
_NAME_PARTS = frozenset(
    {"PASS", "PASSWORD", "PASSWD", "PWD", "PASSPHRASE", "SECRET", "TOKEN", "KEY", "CREDENTIAL", "CREDENTIALS", "PAT"}
)
# …or its name holds one of these anywhere.
_NAME_MARKERS = ("SECRET", "PASSWORD", "PASSWD", "PASSPHRASE", "TOKEN", "API_KEY", "APIKEY", "CREDENTIAL", "PRIVATE")
# Not secrets, though named like them: the shell's working directories.
_NOT_SECRET = frozenset({"PWD", "OLDPWD"})
_MIN_LEN = 6
# Short values of the named secrets are masked too, but not one- to three-character ones, which would
# mangle ordinary text.
_MIN_LEN_NAMED = 4

_KV_KEYS = (
    r"password|passwd|pwd|passphrase|x-api-key|api[_-]?key|access[_-]?token|refresh[_-]?token|id[_-]?token|"
    r"auth[_-]?token|token|client[_-]?secret|secret[_-]?key|secret|private[_-]?key|aws_secret_access_key|"
    r"aws_session_token"
)


def _mask_value(match: re.Match[str]) -> str:
    value = match.group("value")
    quote = value[0] if value[:1] in {'"', "'"} else ""
    return match.group("head") + quote + MASK + quote


_PATTERNS: tuple[tuple[re.Pattern[str], Any], ...] = (
    # PEM private keys, whole blocks.
    (
        re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)", re.DOTALL),
        MASK,
    ),
    (re.compile(r"sk-ant-[A-Za-z0-9_\-]{6,}"), MASK),
    (re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"), MASK),
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), MASK),
    # scheme://user:password@host
    (re.compile(r"(\b[A-Za-z][A-Za-z0-9+.\-]*://[^/\s:@]+:)[^@\s/]+@"), r"\1" + MASK + "@"),
    (re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=\-]{6,}"), r"\1" + MASK),
    (
        re.compile(r"(?i)(\bauthorization[\"']?\s*[:=]\s*[\"']?(?:basic|token|digest)\s+)[A-Za-z0-9._~+/=\-]+"),
        r"\1" + MASK,
    ),
    # key = value, key: "two words", "key": 'value', ?token=value&…
    (
        re.compile(
            rf"""(?i)(?P<head>["']?\b(?:{_KV_KEYS})["']?\s*[:=]\s*)"""
            r"""(?P<value>"[^"\n]*"|'[^'\n]*'|[^\s"',;&}]+)"""
        ),
        _mask_value,
    ),
)
_SECRET_KEY = re.compile(
    r"(?i)(password|passwd|passphrase|secret|api[_-]?key|authorization|access[_-]?token|private[_-]?key|credential)"
)
_SECRET_KEY_LAST = frozenset({"token", "pat", "pwd", "pass", "key"})

_CACHE: dict[int, list[str]] = {}


def _is_secret_name(name: str) -> bool:
    upper = name.upper()
    if upper in _NOT_SECRET:
        return False
    parts = set(upper.replace("-", "_").replace(".", "_").split("_"))
    return bool(parts & _NAME_PARTS) or any(marker in upper for marker in _NAME_MARKERS)


def secret_values() -> list[str]:
    """Values of secret environment variables set now, longest first (so a longer one wins).
    Recomputed only when the environment changed since the last call."""
    items = tuple(os.environ.items())
    stamp = hash(items)
    cached = _CACHE.get(stamp)
    if cached is not None:
        return cached
    values: set[str] = set()
    for name, value in items:
        named = name.upper() in SECRET_ENV and len(value) >= _MIN_LEN_NAMED
        marked = len(value) >= _MIN_LEN and _is_secret_name(name)
        if named or marked:
            values.add(value)
    found = sorted(values, key=len, reverse=True)
    _CACHE.clear()  # one environment at a time
    _CACHE[stamp] = found
    return found


def redact_text(text: str, secrets: list[str] | None = None) -> str:
    """``text`` with every secret value and credential-looking pattern replaced by ``***``
    (``secrets``: the values to mask, default :func:`secret_values` now)."""
    for value in secret_values() if secrets is None else secrets:
        if value in text:
            text = text.replace(value, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def is_secret_key(key: str) -> bool:
    """True for a mapping key whose value is a credential (``password``, ``token``, ``private_key``…)."""
    if _SECRET_KEY.search(key):
        return True
    parts = re.split(r"[^a-z0-9]+", key.lower())
    return parts[-1] in _SECRET_KEY_LAST and (parts[-1] != "key" or (len(parts) > 1 and parts[-2] in {"api", "secret"}))


def redact_obj(obj: Any, secrets: list[str] | None = None) -> Any:
    """A copy of ``obj`` (dicts, lists, tuples, strings, scalars) with secrets masked in every string;
    a string under a key named like a secret (``password``, ``api_key``, ``token``…) is masked whole."""
    if secrets is None:
        secrets = secret_values()  # once per object, not once per string
    if isinstance(obj, str):
        return redact_text(obj, secrets)
    if isinstance(obj, dict):
        mapping = cast(dict[Any, Any], obj)
        out: dict[Any, Any] = {}
        for key, value in mapping.items():
            if isinstance(key, str) and isinstance(value, str) and value and is_secret_key(key):
                out[key] = MASK
            else:
                out[key] = redact_obj(value, secrets)
        return out
    if isinstance(obj, list | tuple):
        items = [redact_obj(v, secrets) for v in cast(list[Any], obj)]
        return items if isinstance(obj, list) else tuple(items)
    return obj
