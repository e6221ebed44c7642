"""SeaTunnel control plane: a Django project around an append-only event log."""

from controlplane.celery import app as celery_app

__all__ = ["celery_app"]
