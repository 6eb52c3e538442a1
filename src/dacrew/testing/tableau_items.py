"""What the Tableau fake holds (datasources, jobs) and the XML envelope of its answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import quoteattr

NS = "http://tableau.com/api"
HEAD = (
    "<?xml version='1.0' encoding='UTF-8'?>"
    f'<tsResponse xmlns="{NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:schemaLocation="http://tableau.com/api http://tableau.com/api/ts-api-{version}.xsd">'
)
TAIL = "</tsResponse>"


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def attrs(**values: Any) -> str:
    return "".join(f" {k}={quoteattr(str(v))}" for k, v in values.items() if v is not None)


@dataclass
class FakeDatasource:
    id: str
    name: str
    project_id: str
    project_name: str
    file_name: str
    content: bytes
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)
    refreshes: int = 0


@dataclass
class FakeJob:
    id: str
    type: str
    datasource_id: str | None
    datasource_name: str
    fails: bool
    polls_left: int
    on_success: Any = None
    created_at: str = field(default_factory=now)
    completed_at: str | None = None
    finish_code: int | None = None
    notes: str = ""
