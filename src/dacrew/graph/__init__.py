"""The plan compiler (``plan_*``: pure) and the parent state machine that runs it."""
