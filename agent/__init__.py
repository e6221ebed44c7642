"""The node agent: one per SeaTunnel node; registers once, heartbeats, and runs signed, allowlisted actions.

It never imports `controlplane` (tests/test_import_rules.py); it speaks the HTTP contract in
docs/AGENT_PROTOCOL.md. How to install and configure it: docs/AGENT.md.
"""

__version__ = "0.1.0"
