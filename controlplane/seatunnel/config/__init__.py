"""Job config helpers (pure Python, no Django): parse, normalise, validate, diff, templates, secret references."""
