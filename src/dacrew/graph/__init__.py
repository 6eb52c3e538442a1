"""The parent state machine: runner, executor, scheduler, verification, state."""
