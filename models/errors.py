"""Domain errors: a machine-readable code (a catalog key under `errors.`) and, when known, the field."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A rule was broken. `code` names a message in the catalogs (`errors.<code>`)."""

    def __init__(self, code: str, *, field: str | None = None, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.field = field
        self.params = params


class PermissionDenied(DomainError):
    """The actor may not do this."""


class NotFound(DomainError):
    """The thing asked for does not exist (or is not visible to the actor)."""


class ValidationFailed(DomainError):
    """One or more fields are invalid. `errors` maps a field to (code, params)."""

    def __init__(self, errors: dict[str, tuple[str, dict[str, Any]]]) -> None:
        first = next(iter(errors.values()))[0] if errors else "invalid"
        super().__init__(first)
        self.errors = errors


class FieldErrors:
    """Collects per-field problems while validating, then raises them all at once."""

    def __init__(self) -> None:
        self.errors: dict[str, tuple[str, dict[str, Any]]] = {}

    def add(self, field: str, code: str, **params: Any) -> None:
        # The first problem of a field is the one the user sees; later ones would only repeat it.
        self.errors.setdefault(field, (code, params))

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)
