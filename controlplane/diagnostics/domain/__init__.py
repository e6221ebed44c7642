"""The fault fingerprint library and its matcher: pure, no Django (docs/DIAGNOSTICS.md)."""
