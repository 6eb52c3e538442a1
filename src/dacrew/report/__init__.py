"""What a run leaves for people and machines: the report model, JSON, JUnit, HTML and the live board, all
read from the event log and the findings."""
