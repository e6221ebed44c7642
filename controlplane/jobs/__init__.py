"""Job definitions, config versions and runs (issue 4). So far: the pure domain of a run's life."""
