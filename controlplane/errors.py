"""The base of every domain error: a stable UPPER_SNAKE code, a message, and details for the API envelope."""

from __future__ import annotations


class DomainError(Exception):
    code = "DOMAIN_ERROR"

    def __init__(self, message: str, *, code: str | None = None, **details: object) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"
