"""The live task board: what a run is doing, from its events, as they happen.

On a terminal it is a table refreshed four times a second (a row per task: phase, title, agent, status
with a spinner while running, elapsed time, attempts, tokens, USD; a footer with totals and whatever waits
for a person). Anywhere else — CI, a pipe — it writes one log line per meaningful event. Both read the
events through :class:`~dacrew.findings.report.RunTally`, like the run report, so they agree with it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from dacrew.findings.format import CheckResult, Usage
from dacrew.plan.model import TaskPlan
from dacrew.report.format import cost_text, duration, tokens_text
from dacrew.report.records import parse_ts, seconds_between
from dacrew.report.requests import describe_request
from dacrew.report.tally import RunTally, TaskTally

STATUS_STYLES = {
    "pending": "dim",
    "in_progress": "bold blue",
    "verifying": "bold magenta",
    "completed": "green",
    "failed": "bold red",
    "needs_input": "bold yellow",
    "skipped": "dim yellow",
}
_ACTIVE = ("in_progress", "verifying")
_DONE_IN_PLAN = "done in plan, not run"
_LABELS = {"in_progress": "running", "needs_input": "needs input"}


def _label(status: str) -> str:
    return _LABELS.get(status, status.replace("_", " "))


def _short_phase(title: str) -> str:
    """``Phase 2: Data Foundation Tasks`` → ``Data Foundation``: the words that tell phases apart."""
    text = re.sub(r"^phase\s*\d+\s*[:.-]\s*", "", title.strip(), flags=re.IGNORECASE)
    return re.sub(r"\s+tasks$", "", text, flags=re.IGNORECASE)


def _tokens(usage: Usage) -> str:
    return tokens_text(usage.total_tokens, usage.estimated)


def _cost(usage: Usage) -> str:
    return cost_text(usage.usd, usage.estimated_usd)


def _first_line(text: str, limit: int = 160) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


class Board:
    """Shows a run's progress. Call :meth:`handle` with every event (from any thread)."""

    def __init__(
        self,
        plan: TaskPlan,
        *,
        console: Console | None = None,
        live: bool | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.plan = plan
        self.console = console or Console(stderr=True)
        self.live = self.console.is_terminal if live is None else live
        self.tally = RunTally()
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.RLock()
        self._spinners: dict[str, Spinner] = {}
        self._live: Live | None = None

    # -- lifecycle ----------------------------------------------------------------------------------

    def __enter__(self) -> Board:
        if self.live:
            self._live = Live(
                get_renderable=self.renderable,
                console=self.console,
                refresh_per_second=4,
                transient=False,
            )
            self._live.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._live.stop()  # renders the final state once more and leaves it on screen
            self._live = None

    @contextmanager
    def suspended(self) -> Iterator[None]:
        """Stop redrawing while a person is asked something on the same terminal, then carry on."""
        live = self._live
        if live is None:
            yield
            return
        live.stop()
        try:
            yield
        finally:
            live.start()

    # -- events -------------------------------------------------------------------------------------

    def handle(self, event: Mapping[str, Any]) -> None:
        with self._lock:
            self.tally.apply(event)
            if self.live:
                return
            line = self._line(event)
            if line is not None:
                stamp = parse_ts(event.get("ts"))
                prefix = stamp.astimezone().strftime("%H:%M:%S ") if stamp else ""
                self.console.print(Text(prefix, style="dim") + line, soft_wrap=True, highlight=False)

    def replay(self, events: Iterable[Mapping[str, Any]]) -> None:
        """Fold earlier events of the run (a resume) into the board without logging them again."""
        with self._lock:
            self.tally.apply_all(events)

    def _line(self, e: Mapping[str, Any]) -> Text | None:
        kind = str(e.get("type", ""))
        task = str(e.get("task") or "")
        t = self.tally.tasks.get(task, TaskTally())
        if kind == "task_started":
            return Text.assemble((task, "bold"), f" started ({t.agent or self._lead(task)}, attempt {t.attempt})")
        if kind == "task_finished":
            return self._finished_line(task, t)
        if kind == "check":
            outcome = str(e.get("outcome") or ("passed" if e.get("passed") else "failed"))
            head = Text.assemble((task, "bold"), f" check {e.get('kind', '')}: {e.get('argument', '')} ")
            if outcome == "passed":
                return head + Text("passed", style="green")
            output = _first_line(str(e.get("output") or ""))
            style = "yellow" if outcome == "unverified" else "bold red"
            return head + Text(outcome, style=style) + Text(f": {output}" if output else "")
        if kind in ("question", "answer"):
            text = _first_line(str(e.get(kind) or ""), 300)
            return Text.assemble((task, "bold"), f" {kind} ({e.get('agent', '')}): {text}")
        if kind == "approval_requested":
            message = e.get("message") or e.get("action") or ""
            request = describe_request(e.get("request"), str(e.get("digest") or ""))
            return Text.assemble(
                (task, "bold"),
                (" approval needed", "bold yellow"),
                f": {e.get('tool', '')} — {message}",
                f"\n  request: {request}" if request else "",
            )
        if kind == "approval":
            verdict = "granted" if e.get("approved") else "denied"
            return Text.assemble((task, "bold"), f" approval {verdict}: {e.get('tool', '')}")
        if kind == "tool_result" and e.get("status") not in (None, "ok"):
            return Text.assemble((task, "bold"), f" tool {e.get('tool', '')} ", (str(e.get("status")), "red"))
        if kind == "model_error":
            return Text.assemble((task, "bold"), (" model error", "red"), f": {_first_line(str(e.get('error') or ''))}")
        if kind == "gate":
            return Text(f"gate after {e.get('phase', '')}: {e.get('status', '')}")
        return self._run_line(kind, e)

    def _done_in_plan(self, task_id: str, t: TaskTally) -> bool:
        """The plan marks the task done (``- [x]``) and the run completed it without running it."""
        task = self.plan.by_id.get(task_id)
        return task is not None and task.done and t.status == "completed" and not t.spans

    def _lead(self, task: str) -> str:
        return self.plan.by_id[task].lead if task in self.plan.by_id else ""

    def _finished_line(self, task: str, t: TaskTally) -> Text:
        status = t.status
        took = duration(seconds_between(t.started, t.finished)) if t.started else ""
        head = Text.assemble((task, "bold"), " ", (_label(status), STATUS_STYLES.get(status, "")))
        if self._done_in_plan(task, t):
            return Text.assemble((task, "bold"), " ", (_DONE_IN_PLAN, "dim green"), " (--rerun-done runs it)")
        if status == "completed":
            usage = t.usage
            return head + Text(f" in {took} · {_tokens(usage)} tokens · {_cost(usage)}")
        if status == "failed":
            error = _first_line(t.error) or "no error given"
            after = f" after {took}" if took else ""
            return head + Text(f"{after} (attempt {t.attempt}): {error}")
        if status == "needs_input":
            return head + Text(f": {_first_line(t.question or t.approval or t.error, 300)}")
        return head + Text(f": {_first_line(t.error)}" if t.error else "")

    def _run_line(self, kind: str, e: Mapping[str, Any]) -> Text | None:
        run = self.tally
        if kind == "run_started":
            parts = [f"run {run.run_id} started: {run.feature or self.plan.feature}", f"{len(self.plan.tasks)} tasks"]
            parts += [p for p in (run.model, f"max parallel {run.max_parallel}" if run.max_parallel else "") if p]
            parts += ["dry run"] if run.dry_run and "dry run" not in run.model else []
            return Text(" · ".join(parts))
        if kind == "run_resumed":
            return Text(f"run {run.run_id} resumed")
        if kind == "run_paused":
            waiting = ", ".join(f"{p.task} ({p.kind})" for p in run.pending) or "nothing"
            return Text.assemble(("run paused", "bold yellow"), f": waiting for {waiting}")
        if kind == "run_finished":
            usage = run.usage
            took = duration(seconds_between(run.started, run.finished))
            style = "bold green" if run.status == "completed" else "bold red"
            return Text.assemble(
                f"run {run.run_id} ",
                (run.status, style),
                f" in {took} · {_tokens(usage)} tokens · {_cost(usage)} · exit {run.exit_code}",
            )
        return None

    # -- the live table -----------------------------------------------------------------------------

    def renderable(self) -> RenderableType:
        """The board as it stands: the task table and its footer."""
        with self._lock:
            return Group(self._table(), self._footer())

    def _elapsed(self, t: TaskTally) -> str:
        if not t.started:
            return ""
        if t.status in _ACTIVE:
            start = parse_ts(t.started)
            return duration(max(0.0, (self._clock() - start).total_seconds())) if start else ""
        return duration(seconds_between(t.started, t.finished))

    def _status_cell(self, task_id: str, t: TaskTally) -> RenderableType:
        style = STATUS_STYLES.get(t.status, "")
        label = Text(_label(t.status), style=style)
        if self._done_in_plan(task_id, t):
            label = Text(_DONE_IN_PLAN, style="dim green")
        if t.activity:
            label.append(f" {t.activity}", style="dim")
        if t.status not in _ACTIVE:
            return label
        spinner = self._spinners.setdefault(task_id, Spinner("dots", style=style))
        spinner.update(text=label)
        return spinner

    def _visible(self) -> tuple[list[str], int]:
        """Task ids to show, in plan order, and how many are left out (a plan taller than the screen)."""
        ids = [t.id for t in self.plan.tasks]
        limit = max(10, self.console.size.height - 8)
        if len(ids) <= limit:
            return ids, 0
        status = {i: self.tally.tasks.get(i, TaskTally()) for i in ids}
        urgent = [i for i in ids if status[i].status in (*_ACTIVE, "needs_input", "failed")]
        recent = sorted(
            (i for i in ids if status[i].finished and i not in urgent),
            key=lambda i: status[i].finished or "",
            reverse=True,
        )
        upcoming = [i for i in ids if status[i].status == "pending"]
        chosen = set((urgent + recent[:3] + upcoming)[:limit])
        return [i for i in ids if i in chosen], len(ids) - len(chosen)

    def _table(self) -> Table:
        # Narrow terminals keep the task id, status and cost whole, and give up phase, attempts and title first.
        wide = self.console.width >= 100
        id_width = max((len(t.id) for t in self.plan.tasks), default=4)
        table = Table(expand=True, show_edge=False, pad_edge=False, header_style="bold dim")
        if wide:
            table.add_column("Phase", style="dim", max_width=18, no_wrap=True, overflow="ellipsis")
        table.add_column("Task", style="bold", no_wrap=True, min_width=id_width)
        table.add_column("Title", ratio=1, min_width=8, no_wrap=True, overflow="ellipsis")
        table.add_column("Agent", max_width=20 if wide else 12, no_wrap=True, overflow="ellipsis")
        table.add_column("Status", min_width=13, max_width=26, no_wrap=True, overflow="ellipsis")
        table.add_column("Elapsed", justify="right", min_width=7, no_wrap=True)
        if wide:
            table.add_column("Att.", justify="right", min_width=4, no_wrap=True)
        table.add_column("Tokens", justify="right", min_width=6, no_wrap=True)
        table.add_column("USD", justify="right", min_width=7, no_wrap=True)
        ids, hidden = self._visible()
        for task_id in ids:
            task = self.plan.by_id[task_id]
            t = self.tally.tasks.get(task_id, TaskTally())
            usage = t.usage
            cells: list[RenderableType] = [_short_phase(task.phase)] if wide else []
            table.add_row(
                *cells,
                task_id,
                task.title,
                t.agent or task.lead,
                self._status_cell(task_id, t),
                self._elapsed(t),
                *([str(t.attempt) if t.attempt else ""] if wide else []),
                _tokens(usage) if usage.total_tokens else "",
                _cost(usage) if usage.usd or usage.estimated_usd else "",
            )
        if hidden:
            table.caption = f"… {hidden} more tasks not shown"
        return table

    def _counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for task in self.plan.tasks:
            status = self.tally.tasks.get(task.id, TaskTally()).status
            counts[status] = counts.get(status, 0) + 1
        return counts

    def _run_elapsed(self) -> float | None:
        run = self.tally
        if run.finished:
            return seconds_between(run.started, run.finished)
        start = parse_ts(run.started)
        return max(0.0, (self._clock() - start).total_seconds()) if start else None

    def _footer(self) -> Text:
        counts = self._counts()
        usage = self.tally.usage
        parts = [f"{counts.get('completed', 0)}/{len(self.plan.tasks)} completed"]
        running = sum(counts.get(s, 0) for s in _ACTIVE)
        parts += [f"{running} running"] if running else []
        parts += [f"{counts[s]} {_label(s)}" for s in ("failed", "needs_input", "skipped") if counts.get(s)]
        unverified = len(self._unverified())
        parts += [f"{unverified} unverified"] if unverified else []
        parts += [f"elapsed {duration(self._run_elapsed())}", f"{_tokens(usage)} tokens", _cost(usage)]
        footer = Text(" · ".join(parts), style="bold")
        for task_id, t in self.tally.tasks.items():
            waiting = f"approve {t.approval}" if t.approval else t.question
            if waiting and t.status in (*_ACTIVE, "needs_input"):
                footer.append(f"\n? {task_id}: {_first_line(waiting, 200)}", style="yellow")
        for task_id, t in self.tally.tasks.items():
            if t.status == "failed":
                footer.append(f"\n✗ {task_id}: {_first_line(t.error) or 'failed'}", style="red")
        if self.tally.status != "running":
            footer.append(f"\nrun {self.tally.status}", style="bold")
        return footer

    # -- the end ------------------------------------------------------------------------------------

    def summary(self) -> str:
        """One paragraph: how the run ended, what failed or waits, and what it cost."""
        with self._lock:
            run = self.tally
            counts = self._counts()
            took = duration(self._run_elapsed())
            # "running" means no end event reached the board: say nothing rather than something untrue.
            state = "" if run.status == "running" else f" {run.status}"
            head = f"Run {run.run_id}{state}" if run.run_id else f"Run{state}"
            sentences = [f"{head} after {took}: {counts.get('completed', 0)} of {len(self.plan.tasks)} tasks completed"]
            for status, verb in (("failed", "failed"), ("skipped", "skipped"), ("needs_input", "waiting for input")):
                ids = [t.id for t in self.plan.tasks if self.tally.tasks.get(t.id, TaskTally()).status == status]
                if not ids:
                    continue
                details = [self._detail(i, status) for i in ids]
                sentences.append(f"{len(ids)} {verb} ({'; '.join(details)})")
            unverified = self._unverified()
            if unverified:
                shown = "; ".join(f"{task_id}: {c.kind}: {_first_line(c.output, 120)}" for task_id, c in unverified)
                sentences.append(f"{len(unverified)} checks unverified ({shown})")
            not_started = counts.get("pending", 0)
            if not_started:
                sentences.append(f"{not_started} not started")
            usage = run.usage
            closing = f". {_tokens(usage)} tokens, {_cost(usage)}"
            return ", ".join(sentences) + (closing if closing.endswith(".") else closing + ".")

    def _unverified(self) -> list[tuple[str, CheckResult]]:
        """The unverified checks of completed tasks, in plan order."""
        found: list[tuple[str, CheckResult]] = []
        for task in self.plan.tasks:
            t = self.tally.tasks.get(task.id, TaskTally())
            if t.status == "completed":
                found += [(task.id, c) for c in t.checks if c.outcome == "unverified"]
        return found

    def _detail(self, task_id: str, status: str) -> str:
        t = self.tally.tasks[task_id]
        text = (t.question or t.approval or t.error) if status == "needs_input" else t.error
        return f"{task_id}: {_first_line(text, 120)}" if text else task_id
