"""Secrets: envelope-encrypted values (AES-256-GCM) with event-sourced metadata (docs/SECURITY.md).

Always import this package as ``controlplane.secrets``: a bare ``import secrets`` is the standard library.
"""
