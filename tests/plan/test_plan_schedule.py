"""The admission rule and the simulators built on it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dacrew.errors import UserError
from dacrew.plan.globs import files_overlap
from dacrew.plan.model import TaskPlan, task_sort_key
from dacrew.plan.parse import parse_plan
from dacrew.plan.schedule import (
    admit,
    critical_path,
    dependents,
    lower_bound,
    simulate,
    topological_order,
    with_phase_barriers,
)
from dacrew.plan.validate import MAX_OVERLAP_WARNINGS, validate

from .conftest import make_plan, template_text


def test_natural_id_order() -> None:
    assert sorted(["T10", "T2", "T1", "T002"], key=task_sort_key) == ["T1", "T002", "T2", "T10"]


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (["models/staging/"], ["models/staging/stg_*.sql"], True),
        (["`models/staging/`"], ["`models/staging/_sources.yml`"], True),
        (["tests/"], ["tests/integration/"], True),
        (["Repository root"], ["anything/at/all.sql"], True),
        (["config"], ["config/prod/"], True),
        (["models/marts/dim_*.sql"], ["models/marts/fct_*.sql"], False),
        (["models/staging/stg_*.sql"], ["models/staging/stg_orders.sql"], True),
        (["models/staging/stg_*.sql"], ["models/staging/_sources.yml"], False),
        (["models/*/x.sql"], ["models/staging/"], True),
        (["models/*.sql"], ["models/staging/"], False),
        (["tests/dashboard/"], ["tests/performance/"], False),
        ([".env"], [".envrc"], False),
        ([], ["models/"], False),
    ],
)
def test_files_overlap(a: list[str], b: list[str], expected: bool) -> None:
    assert files_overlap(a, b) is expected
    assert files_overlap(b, a) is expected


def test_non_parallel_task_runs_alone() -> None:
    plan = make_plan(("T1", True, [], ["a/"]), ("T2", False, [], ["b/"]), ("T3", True, [], ["c/"]))
    # T1 goes; T2 (no [P]) must wait for it, and while it waits T3 (higher id) may not start.
    assert admit(plan, ["T3", "T2", "T1"], [], 4) == ["T1"]
    assert admit(plan, ["T3", "T2"], ["T1"], 4) == []
    assert admit(plan, ["T3", "T2"], [], 4) == ["T2"]
    # Nothing starts while a non-[P] task runs.
    assert admit(plan, ["T3"], ["T2"], 4) == []


def test_lower_parallel_tasks_may_pass_a_waiting_exclusive_task() -> None:
    plan = make_plan(("T1", True, [], ["a/"]), ("T2", True, [], ["b/"]), ("T3", False, [], ["c/"]))
    assert admit(plan, ["T2", "T3"], ["T1"], 4) == ["T2"]


def test_file_conflicts_and_slots() -> None:
    plan = make_plan(
        ("T1", True, [], ["models/staging/"]),
        ("T2", True, [], ["models/staging/stg_a.sql"]),
        ("T3", True, [], ["tableau/"]),
        ("T4", True, [], ["orchestration/"]),
        ("T5", True, [], ["docs/"]),
    )
    assert admit(plan, ["T1", "T2", "T3", "T4", "T5"], [], 4) == ["T1", "T3", "T4", "T5"]
    assert admit(plan, ["T2", "T3", "T4", "T5"], ["T1"], 2) == ["T3"]
    assert admit(plan, ["T2"], ["T1"], 4) == []
    assert admit(plan, ["T2", "T5"], ["T3", "T4"], 2) == []
    with pytest.raises(ValueError, match="max_parallel"):
        admit(plan, ["T1"], [], 0)


def test_dispatch_on_completion_beats_batches() -> None:
    # DESIGN's measured DAG: A → {B 2.0, C 0.5, D 3.0}, E after C, F after B+E, G after F+D.
    plan = make_plan(
        ("A", False, [], ["a/"]),
        ("B", True, ["A"], ["b/"]),
        ("C", True, ["A"], ["c/"]),
        ("D", True, ["A"], ["d/"]),
        ("E", True, ["C"], ["e/"]),
        ("F", True, ["B", "E"], ["f/"]),
        ("G", False, ["F", "D"], ["g/"]),
    )
    durations = {"A": 0.5, "B": 2.0, "C": 0.5, "D": 3.0, "E": 1.0, "F": 0.8, "G": 0.5}
    sim = simulate(plan, durations)
    assert sim.start["E"] == pytest.approx(1.0)  # the moment C finishes, not when B and D do
    assert sim.start["F"] == pytest.approx(2.5)
    assert sim.makespan == pytest.approx(4.0)
    assert sim.makespan == pytest.approx(lower_bound(plan, durations))
    assert critical_path(plan, durations) == (["A", "D", "G"], pytest.approx(4.0))


def test_max_parallel_limits_concurrency() -> None:
    plan = make_plan(*[(f"T{i}", True, [], [f"f{i}/"]) for i in range(1, 8)])
    sim = simulate(plan, max_parallel=3)
    assert sim.waves == [["T1", "T2", "T3"], ["T4", "T5", "T6"], ["T7"]]
    assert sim.makespan == 3.0
    at_once = max(sum(1 for t in sim.start if sim.start[t] <= x < sim.finish[t]) for x in (0.5, 1.5, 2.5))
    assert at_once == 3


def test_overlapping_parallel_tasks_are_serialised() -> None:
    plan = make_plan(("T1", True, [], ["models/"]), ("T2", True, [], ["models/a.sql"]), ("T3", True, [], ["x/"]))
    assert simulate(plan).waves == [["T1", "T3"], ["T2"]]


def test_template_schedule_preview() -> None:
    plan = parse_plan(template_text())
    sim = simulate(plan)
    assert sim.waves[:5] == [["T001"], ["T002"], ["T003"], ["T004", "T006", "T007"], ["T005"]]
    assert sim.order[0] == "T001"
    assert len(sim.order) == 18
    for task in plan.tasks:
        for dep in task.dependencies:
            assert sim.finish[dep] <= sim.start[task.id]
    assert topological_order(plan)[:4] == ["T001", "T002", "T003", "T004"]
    assert dependents(plan, "T012") == {"T014", "T016", "T018"}
    path, length = critical_path(plan)
    assert path[0] == "T001"
    assert path[-1] == "T018"
    assert length == len(path)


def test_cycle_is_refused() -> None:
    plan = make_plan(("T1", False, ["T2"], []), ("T2", False, ["T1"], []))
    with pytest.raises(UserError, match="dependency cycle: T1 → T2 → T1"):
        simulate(plan)


def test_wide_plan_simulates_fast() -> None:
    n = 3000
    plan = make_plan(("T0", False, [], ["setup/"]), *[(f"T{i}", True, ["T0"], [f"m/{i}.sql"]) for i in range(1, n)])
    sim = simulate(plan, max_parallel=4)
    assert len(sim.waves) == 1 + (n - 1 + 3) // 4
    assert sim.makespan == 1 + (n - 1 + 3) // 4
    assert lower_bound(plan, None, 4) == 1 + (n - 1) / 4


@st.composite
def _random_plans(draw: st.DrawFn) -> tuple[TaskPlan, dict[str, float], int]:
    n = draw(st.integers(1, 14))
    specs: list[tuple[str, bool, list[str], list[str]]] = []
    for i in range(n):
        deps = draw(st.lists(st.integers(0, max(0, i - 1)), max_size=min(i, 3), unique=True)) if i else []
        files = draw(
            st.lists(st.sampled_from(["models/", "models/a.sql", "tests/", "tableau/x.tds", "docs/"]), max_size=2)
        )
        specs.append((f"T{i + 1}", draw(st.booleans()), [f"T{d + 1}" for d in deps], files))
    durations = {s[0]: draw(st.sampled_from([0.5, 1.0, 2.0, 3.0])) for s in specs}
    return make_plan(*specs), durations, draw(st.integers(1, 4))


@settings(max_examples=80, deadline=None)
@given(case=_random_plans())
def test_simulation_keeps_every_rule(case: tuple[TaskPlan, dict[str, float], int]) -> None:
    plan, durations, max_parallel = case
    sim = simulate(plan, durations, max_parallel)
    assert sorted(sim.order, key=task_sort_key) == [t.id for t in plan.tasks]
    tasks = plan.by_id
    for task in plan.tasks:
        assert all(sim.finish[d] <= sim.start[task.id] for d in task.dependencies)
    for a in plan.tasks:
        together = [
            b
            for b in plan.tasks
            if b.id != a.id and sim.start[b.id] < sim.finish[a.id] and sim.start[a.id] < sim.finish[b.id]
        ]
        if not a.parallel:
            assert together == [], f"{a.id} (no [P]) ran alongside {[b.id for b in together]}"
        assert all(not files_overlap(a.files, b.files) for b in together)
    assert sim.makespan >= lower_bound(plan, durations, max_parallel) - 1e-9
    assert sim.makespan >= critical_path(plan, durations)[1] - 1e-9
    # Admission never leaves the machine idle while a task is ready.
    for instant in {0.0, *sim.finish.values()}:
        busy = [t for t in sim.start if sim.start[t] <= instant < sim.finish[t]]
        ready = [
            t.id
            for t in plan.tasks
            if sim.start[t.id] > instant and all(sim.finish[d] <= instant for d in t.dependencies)
        ]
        assert busy or not ready, f"idle at {instant} with {ready} ready"
    for instant in set(sim.start.values()):
        assert sum(1 for t in sim.start if sim.start[t] <= instant < sim.finish[t]) <= max_parallel
    for wave in sim.waves:
        assert wave == sorted(wave, key=task_sort_key)
        assert all(tasks[t].parallel for t in wave) or len(wave) == 1


def test_phase_barriers() -> None:
    plan = parse_plan(template_text())
    gated = with_phase_barriers(plan)
    assert plan.by_id["T007"].dependencies == ["T001"]  # the original is untouched
    # Phase 1's last tasks are T002 and T003 (nothing in the phase waits for them).
    assert gated.by_id["T007"].dependencies == ["T001", "T002", "T003"]
    sim = simulate(gated)
    last_setup = max(sim.finish[t] for t in ("T001", "T002", "T003"))
    assert all(sim.start[t] >= last_setup for t in ("T004", "T005", "T006", "T007"))
    assert sim.makespan >= simulate(plan).makespan


def test_many_tasks_in_one_folder_stay_cheap() -> None:
    n = 400
    plan = make_plan(*[(f"T{i}", True, [], ["models/"]) for i in range(1, n + 1)])
    sim = simulate(plan, max_parallel=4)
    assert sim.waves == [[f"T{i}"] for i in range(1, n + 1)]  # they all write models/: one at a time
    warnings = validate(plan)
    assert len(warnings) == MAX_OVERLAP_WARNINGS + 1
    assert warnings[0].message == "[P] tasks T1 and T2 write overlapping Files; they will not run at the same time"
    assert warnings[-1].message.startswith("more [P] tasks write overlapping Files")
