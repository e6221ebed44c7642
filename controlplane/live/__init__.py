"""Live progress over websockets: one tailer per web process follows the global event log and fans each
event out to the connected clients whose topic matches. See docs/LIVE.md and docs/adr (one tailer per process).
"""
