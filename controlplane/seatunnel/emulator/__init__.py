"""A stand-in for a SeaTunnel Zeta cluster's REST API, for tests and demos. Not an engine: it runs nothing."""
