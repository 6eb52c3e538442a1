"""Tableau background jobs as tableauserverclient defines them: state from ``Jobs.wait_for_job``'s own
reading of the finish code, and polling within ``tableau.job_timeout_s``."""

from __future__ import annotations

import time
from typing import Any, Literal, cast

from pydantic import BaseModel, Field

from dacrew.tools.base import ToolContext


class TableauJob(BaseModel):
    """A Tableau background job as the server reports it."""

    id: str
    type: str | None = None
    state: Literal["InProgress", "Success", "Failed", "Cancelled", "Unknown"]
    """Decided as tableauserverclient's ``wait_for_job`` decides it: finishCode Success (0) and
    Completed (3) are success, Failed (1) failure, Cancelled (2) cancelled; any other code is Unknown."""
    progress: int | None = None
    finish_code: int | None = None
    notes: list[str] = Field(default_factory=list[str])
    created_at: str | None = None
    completed_at: str | None = None
    datasource_id: str | None = None
    datasource_name: str | None = None


class _Answered:
    """The jobs endpoint as ``wait_for_job`` uses it, answering with the job already fetched."""

    def __init__(self, item: Any) -> None:
        self.item = item

    def get_by_id(self, job_id: str) -> Any:
        del job_id
        return self.item


def _outcome(item: Any) -> str:
    """A finished job's state, decided by tableauserverclient's own ``Jobs.wait_for_job``: given the job
    already fetched (it returns at once for a completed job, with no request), it returns for success
    (finishCode Success or Completed) and raises for failure or cancellation."""
    from tableauserverclient.server.endpoint.exceptions import JobCancelledException, JobFailedException
    from tableauserverclient.server.endpoint.jobs_endpoint import Jobs

    try:
        Jobs.wait_for_job(cast(Jobs, _Answered(item)), item.id)
    except JobCancelledException:
        return "Cancelled"
    except JobFailedException:
        return "Failed"
    except AssertionError:  # "Unexpected finish_code in job"
        return "Unknown"
    return "Success"


def job_of(item: Any) -> TableauJob:
    """The job as the server reports it, its state decided as tableauserverclient decides it."""
    done = item.completed_at is not None
    state = _outcome(item) if done else "InProgress"
    return TableauJob(
        id=item.id,
        type=item.type,
        state=state,  # pyright: ignore[reportArgumentType]
        progress=int(item.progress) if item.progress is not None else None,
        finish_code=item.finish_code if done else None,
        notes=[str(n) for n in cast(list[Any], item.notes or []) if n],
        created_at=item.created_at.isoformat() if item.created_at else None,
        completed_at=item.completed_at.isoformat() if item.completed_at else None,
        datasource_id=item.datasource_id,
        datasource_name=item.datasource_name,
    )


def wait_for_job(ctx: ToolContext, server: Any, job_id: str) -> tuple[TableauJob, bool]:
    """Poll the job until it completes or ``tableau.job_timeout_s`` passes; True means timed out."""
    cfg = ctx.config.tableau
    deadline = time.monotonic() + cfg.job_timeout_s
    while True:
        job = job_of(server.jobs.get_by_id(job_id))
        if job.state != "InProgress":
            return job, False
        if time.monotonic() >= deadline:
            return job, True
        time.sleep(cfg.poll_interval_s)
