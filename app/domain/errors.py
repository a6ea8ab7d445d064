"""Domain errors. Each carries the HTTP status and machine code that both transports show."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One thing wrong with a request, tied to an attribute or body field when there is one."""

    field: str | None
    code: str
    message: str


class DomainError(Exception):
    """An expected failure: the client can read `message` and `errors` and fix its request."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or [FieldError(field=None, code=self.code, message=message)]


class ValidationFailed(DomainError):
    status = 400
    code = "validation_failed"

    @classmethod
    def of(cls, errors: list[FieldError]) -> ValidationFailed:
        """One error for several field problems; the message names the first of them."""
        first = errors[0].message
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return cls(f"{first}{more}", errors)


class UniqueConflict(ValidationFailed):
    code = "unique_conflict"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class AlreadyExists(DomainError):
    status = 409
    code = "already_exists"


class VersionMismatch(DomainError):
    """Optimistic concurrency: the record is not at the version the client last saw."""

    status = 409
    code = "version_mismatch"

    def __init__(self, expected: int, current: int | None) -> None:
        now = "it does not exist" if current is None else f"its current version is {current}"
        super().__init__(
            f"Expected version {expected}, but {now}.",
            [FieldError("version", self.code, f"Expected version {expected}; {now}.")],
        )
        self.current_version = current


class IdempotencyConflict(DomainError):
    status = 409
    code = "idempotency_conflict"


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload_too_large"


class Contention(DomainError):
    """Too many concurrent writers on the same record; the client may retry."""

    status = 503
    code = "contention"


def field_error(field: str | None, code: str, message: str) -> ValidationFailed:
    """A validation failure with a single field error."""
    return ValidationFailed(message, [FieldError(field=field, code=code, message=message)])
