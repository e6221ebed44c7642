"""The SeaTunnel installer core (docs/INSTALLER.md, ADR 0027): install, upgrade, roll back and uninstall the
Zeta engine on one node as a journal of idempotent steps. No Django here (import-linter contract
`agent-installer`): the agent's standalone CLI, the agent's actions and `manage.py seatunnel` all call it."""
