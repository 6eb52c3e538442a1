"""The findings store (``findings/<task-id>.md``), the run's event log and its reports."""
