"""The findings store (``findings/<task-id>.md``), its format, the run's event log and redaction."""
