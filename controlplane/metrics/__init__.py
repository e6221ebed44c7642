"""Prometheus exposition of the control plane: ``/metrics`` (ADR 0028, docs/METRICS.md), the request metrics
middleware, the gauges computed at scrape, and file-based service discovery of the engines' own ``/metrics``."""
