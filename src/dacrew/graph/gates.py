"""Phase gates: after each phase, the run stops for a person's approval (or the headless policy's) before the next phase starts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dacrew.graph.runtime import Runtime
from dacrew.graph.scheduler import Deferred


async def run_gate(rt: Runtime, phase: str, next_phase: str) -> dict[str, Any]:
    """A phase gate: once every task of ``phase`` has finished, a person approves the next phase."""
    from langgraph.types import interrupt

    assert rt.scheduler is not None
    sched = rt.scheduler
    state = await sched.wait_phase(phase)
    if state == "deferred":
        raise Deferred(f"the gate after '{phase}' waits for that phase's open questions")
    if sched.halted:
        return {"phase": phase, "approved": False}
    recorded = phase in gate_events(rt)
    decided = rt.policy(f"gate:{phase}")
    if decided is not None:
        approved = decided
    else:
        if not recorded and phase not in rt.gate_answers and not _asked_before(rt, phase):
            rt.emit("gate", phase=phase, status="waiting")
        try:
            answer = interrupt(
                {"kind": "gate", "phase": phase, "text": f"Phase '{phase}' is done. Start '{next_phase}'?"}
            )
        except BaseException:
            sched.gate_waits(phase)  # no answer in this session: what waits for the gate is deferred
            raise
        approved = is_yes(answer)
    if not recorded:
        rt.emit("gate", phase=phase, status="approved" if approved else "denied")
    if approved:
        sched.open_phase(phase)
    else:
        sched.halt(f"the gate after '{phase}' was denied")
    return {"phase": phase, "approved": approved}


def is_yes(answer: Any) -> bool:
    if isinstance(answer, dict):
        return bool(answer.get("approved"))  # pyright: ignore[reportUnknownMemberType]
    return str(answer).strip().lower() in {"yes", "y", "approve", "approved", "true", "ok"}


def gate_events(rt: Runtime) -> dict[str, bool]:
    """Gates answered in earlier sessions of this run, from its events."""
    from dacrew.findings.events import read_events

    answers: dict[str, bool] = {}
    for event in read_events(rt.settings.run_dir):
        if event.get("type") == "gate" and event.get("status") in ("approved", "denied"):
            answers[str(event["phase"])] = event["status"] == "approved"
    return answers


def _asked_before(rt: Runtime, phase: str) -> bool:
    """An earlier session already recorded that this gate waits (a resume answered on a server)."""
    from dacrew.findings.events import read_events

    return any(
        e.get("type") == "gate" and e.get("status") == "waiting" and e.get("phase") == phase
        for e in read_events(rt.settings.run_dir)
    )


def answered_gates(rt: Runtime) -> dict[str, bool]:
    """Gates answered in earlier sessions (events), then in this one (the answers it was given)."""
    return {**gate_events(rt), **rt.gate_answers}


def bind_gate(rt: Runtime, phase: str, nxt: str) -> Callable[[], Any]:
    async def body() -> dict[str, Any]:
        return await run_gate(rt, phase, nxt)

    return body
