"""`python -m agent` (see agent/cli.py and docs/AGENT.md)."""

import sys

from agent.cli import main

sys.exit(main())
