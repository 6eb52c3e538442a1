"""orchestra: Orchestra's public API (httpx) and pipelines as code.

- ``client``: start a pipeline, poll its run status, cancel.
- ``pipeline``: pipelines in Orchestra's own YAML, validated with orchestra-lang, and a local dry run of their dbt steps.
"""

from __future__ import annotations

from dacrew.tools.orchestra.client import orchestra_cancel_run, orchestra_run_status, orchestra_start_pipeline
from dacrew.tools.orchestra.dry_run import orchestra_dry_run
from dacrew.tools.orchestra.pipeline import orchestra_validate_pipeline, orchestra_write_pipeline

__all__ = [
    "orchestra_cancel_run",
    "orchestra_dry_run",
    "orchestra_run_status",
    "orchestra_start_pipeline",
    "orchestra_validate_pipeline",
    "orchestra_write_pipeline",
]
