"""Record, replay and score runs: the eval harness."""
