"""``dacrew eval run|baseline|record|seal|import``: the eval harness on the command line.

Exit codes: 0 every case passed (an expected drift failure counts as passing) and no regression;
1 a case failed, or a regression against ``--baseline``; 2 invalid input.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

app = typer.Typer(rich_markup_mode=None, help="Run, record, seal and compare eval suites.", no_args_is_help=True)
importers = typer.Typer(
    rich_markup_mode=None, help="Turn tasks of other benchmarks into dacrew cases.", no_args_is_help=True
)
app.add_typer(importers, name="import")

REPLAY_HELP = "model: recorded decisions, tools run for real; full: tool results from the cassettes too."


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="eval")


def _out_dir(out: Path | None, suite_name: str, what: str) -> Path:
    if out is not None:
        return out
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
    return Path(".dacrew") / "evals" / f"{suite_name}-{what}-{stamp}"


def _check_replay(replay: str) -> Any:
    from dacrew.errors import UserError

    if replay not in ("model", "full"):
        raise UserError(f"--replay is model or full, not {replay!r}")
    return replay


def _run(suite: Any, options: Any, out: Path, repeat: int, max_concurrency: int, names: list[str] | None = None) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from dacrew.evals.pool import run_suite

    console = Console(stderr=True)
    cases = [suite.case(n) for n in names] if names else suite.cases
    total = len(cases) * repeat
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        bar = progress.add_task(f"eval {suite.name}", total=total)
        return run_suite(
            suite,
            options,
            out,
            repeat=repeat,
            max_concurrency=max_concurrency,
            cases=cases,
            on_done=lambda result: progress.advance(bar),  # pyright: ignore[reportUnknownLambdaType]
        )


def _table(result: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"dacrew eval {result.suite} ({result.mode} replay{', strict' if result.strict else ''})")
    for name, justify in (
        ("case", "left"),
        ("run", "right"),
        ("pass", "left"),
        ("scorers", "right"),
        ("tokens", "right"),
        ("USD", "right"),
        ("seconds", "right"),
    ):
        table.add_column(name, justify=justify)  # pyright: ignore[reportArgumentType]
    colour = {"passed": "green", "xfail": "green", "failed": "red", "xpass": "red", "error": "red"}
    for c in result.cases:
        table.add_row(
            c.case,
            str(c.repeat),
            f"[{colour[c.verdict]}]{c.verdict}[/]",
            f"{sum(s.passed for s in c.scores)}/{len(c.scores)}",
            str(c.tokens),
            f"{c.usd:.4f}",
            f"{c.seconds:.1f}",
        )
    console = Console()
    console.print(table)
    totals = result.totals()
    console.print(
        f"pass rate {totals['pass_rate']:.0%}; per case {totals['tokens']:g} tokens, {totals['usd']:.4f} USD, "
        f"{totals['seconds']:.1f} s",
        highlight=False,
    )
    from dacrew.evals.reports import failure_text

    for c in result.cases:
        if not c.ok:
            typer.echo(f"\n{c.case} [{c.repeat}] {c.verdict}:\n{failure_text(c)}")
        elif c.drift and c.verdict == "passed":
            for d in c.drift:
                typer.echo(f"warning: {c.case} [{c.repeat}] drifted: {d.message.splitlines()[0]}", err=True)
    for regression in result.regressions:
        typer.echo(f"regression: {regression}")


@app.command("run")
def run(
    suite_dir: Path = typer.Argument(..., metavar="SUITE", help="The suite folder (or its suite.yml)."),
    repeat: int = typer.Option(1, "--repeat", min=1, help="Run every case N times."),
    max_concurrency: int = typer.Option(2, "--max-concurrency", min=1, help="Case runs at once."),
    baseline: Path | None = typer.Option(None, "--baseline", help="Compare with this baseline (exit 1 on regression)."),
    strict: bool = typer.Option(False, "--strict", help="Fail a case whose replay drifted from its cassette."),
    replay: str = typer.Option("", "--replay", help=REPLAY_HELP + " Default: the suite's."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the results as JSON."),
    junit: Path | None = typer.Option(None, "--junit", help="Write JUnit XML."),
    html_out: Path | None = typer.Option(None, "--html", help="Write a self-contained HTML report."),
    out: Path | None = typer.Option(None, "--out", help="Where the case runs' project copies go."),
    case: list[str] = typer.Option([], "--case", help="Run only these cases."),
) -> None:
    """Run a suite's cases (each in a fresh copy of its project), score them and report."""
    from dacrew.evals.case import CaseOptions
    from dacrew.evals.reports import write_html, write_json, write_junit
    from dacrew.evals.results import load_baseline, regressions
    from dacrew.evals.suite import load_suite

    suite = load_suite(suite_dir)
    base = load_baseline(baseline) if baseline is not None else None
    mode = _check_replay(replay or suite.replay)
    options = CaseOptions(mode=mode, strict=strict)
    result = _run(suite, options, _out_dir(out, suite.name, "run"), repeat, max_concurrency, case or None)
    if base is not None:
        result.regressions = regressions(result, base, suite.thresholds)
    _table(result)
    for path, write in ((json_out, write_json), (junit, write_junit), (html_out, write_html)):
        if path is not None:
            write(result, path)
    raise typer.Exit(0 if result.ok else 1)


@app.command("baseline")
def baseline_cmd(
    suite_dir: Path = typer.Argument(..., metavar="SUITE", help="The suite folder (or its suite.yml)."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Baseline file (default: SUITE/baseline.json)."),
    repeat: int = typer.Option(1, "--repeat", min=1),
    max_concurrency: int = typer.Option(2, "--max-concurrency", min=1),
    replay: str = typer.Option("", "--replay", help=REPLAY_HELP),
    out: Path | None = typer.Option(None, "--out", help="Where the case runs' project copies go."),
) -> None:
    """Run the suite and save its pass rate, tokens, USD and time as the baseline to compare with."""
    from dacrew.evals.case import CaseOptions
    from dacrew.evals.results import write_baseline
    from dacrew.evals.suite import load_suite

    suite = load_suite(suite_dir)
    mode = _check_replay(replay or suite.replay)
    result = _run(suite, CaseOptions(mode=mode), _out_dir(out, suite.name, "baseline"), repeat, max_concurrency)
    _table(result)
    path = write_baseline(result, output or suite.root / "baseline.json")
    typer.echo(f"baseline written: {path}")


def _split_case(target: Path) -> tuple[Any, Any]:
    from dacrew.evals.suite import SUITE_FILE, load_suite

    if (target.parent / SUITE_FILE).is_file():
        suite = load_suite(target.parent)
        return suite, suite.case(target.name)
    from dacrew.errors import UserError

    raise UserError("expected SUITE/CASE: a suite folder and one of its case names", path=str(target))


@app.command("record")
def record(
    case_path: Path = typer.Argument(..., metavar="CASE", help="SUITE/CASE: the suite folder and a case name."),
    model: str = typer.Option(..., "--model", help="The live model (an init_chat_model string)."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Cassette file (default: the case's cassette)."),
    out: Path | None = typer.Option(None, "--out", help="Where the case run's project copy goes."),
) -> None:
    """Run one case on a live model and save its cassette."""
    from dacrew.evals.seal import record_case

    suite, case = _split_case(case_path)
    path, result = record_case(suite, case, model, _out_dir(out, suite.name, "record"), output)
    typer.echo(
        f"{case.name}: {result.verdict}; {result.turns} model turns, {result.tool_calls} tool calls recorded to {path}"
    )


@app.command("seal")
def seal(
    suite_dir: Path = typer.Argument(..., metavar="SUITE", help="The suite folder (or its suite.yml)."),
    case: list[str] = typer.Option([], "--case", help="Seal only these cases."),
    max_concurrency: int = typer.Option(2, "--max-concurrency", min=1),
    out: Path | None = typer.Option(None, "--out", help="Where the case runs' project copies go."),
) -> None:
    """Replay the cases and write request digests, tool results and check outcomes into their cassettes."""
    from dacrew.evals.seal import seal_suite
    from dacrew.evals.suite import load_suite

    suite = load_suite(suite_dir)
    report = seal_suite(suite, _out_dir(out, suite.name, "seal"), names=case or None, max_concurrency=max_concurrency)
    failed = False
    for entry in report:
        if entry.skipped:
            typer.echo(f"{entry.case}: not sealed: {entry.skipped}")
            failed = failed or entry.skipped.startswith("its replay")
        else:
            typer.echo(f"{entry.case}: sealed {entry.cassette} ({entry.turns} turns, {entry.tools} tool records)")
    raise typer.Exit(1 if failed else 0)


@importers.command("ade-bench")
def import_ade_bench(
    task_dir: Path = typer.Argument(..., help="An ADE-bench task folder (task.yaml, seeds/, tests/)."),
    output: Path = typer.Option(Path("evals/ade-bench"), "--output", "-o", help="The suite folder to write into."),
    project: Path | None = typer.Option(None, "--project", help="The dbt project (default: the one task.yaml names)."),
    database: Path | None = typer.Option(None, "--database", help="The DuckDB file to copy into the project."),
    prompt: str = typer.Option("base", "--prompt", help="Which of the task's prompts to use."),
) -> None:
    """Turn an ADE-bench task into a dacrew case: a one-task plan, solution seeds as table scorers, its
    dbt tests as a dbt scorer."""
    from dacrew.evals.ade_bench import import_task

    case = import_task(task_dir, output, project=project, database=database, prompt_key=prompt)
    typer.echo(f"{case.name}: case written to {output / 'suite.yml'} (project {output / case.project})")
