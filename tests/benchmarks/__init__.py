"""Event log benchmarks: run with ``make bench`` (docs/BENCHMARKS.md). Never collected by pytest."""
