"""The benchmarks are a program (``python -m tests.benchmarks.run``, ``make bench``), not tests: keep pytest
from collecting anything here, whatever a file is named."""

collect_ignore_glob = ["*.py"]
