"""The append-only event log: every state change of the control plane is an event here.

Public surface: ``append``, ``read_stream``, ``GlobalReader``, ``event_type``, ``upcaster``,
``Projector``, ``Subscription``, ``Metadata`` and the errors in ``errors``.
See docs/eventlog.md.
"""
