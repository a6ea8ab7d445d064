"""Attribute values: the shape each type accepts, its stored form, and its lookup token."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from app.domain.errors import FieldError, ValidationFailed, field_error
from app.domain.objects import SYSTEM_ATTRIBUTES, Attribute, AttributeType, ObjectSchema

MAX_TEXT_LENGTH = 255
# Integers beyond this lose precision in JSON clients and overflow BSON's int64 anyway.
MAX_SAFE_INTEGER = 2**53 - 1

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
URL_PATTERN = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class InvalidValue(Exception):
    """A value of the wrong shape for its attribute; the message says what was expected."""


def _text(attribute: Attribute, value: object) -> str:
    if not isinstance(value, str):
        raise InvalidValue("expected a string")
    if len(value) > MAX_TEXT_LENGTH:
        raise InvalidValue(f"must be at most {MAX_TEXT_LENGTH} characters, got {len(value)}")
    if "email" in attribute.validation and value and not EMAIL_PATTERN.match(value):
        raise InvalidValue("must be an email address")
    if "url" in attribute.validation and value and not URL_PATTERN.match(value):
        raise InvalidValue("must be an http(s) URL")
    return value


def _number(attribute: Attribute, value: object) -> int | float:
    # bool is an int subclass in Python; JSON true is not a number.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidValue("expected a JSON number")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidValue("must be a finite number")
        if value.is_integer() and abs(value) <= MAX_SAFE_INTEGER:
            return int(value)  # 29 and 29.0 are the same number: store one form.
        return value
    if abs(value) > MAX_SAFE_INTEGER:
        raise InvalidValue(f"integers must be within ±{MAX_SAFE_INTEGER}")
    return value


def _checkbox(attribute: Attribute, value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidValue("expected true or false")
    return value


def _date(attribute: Attribute, value: object) -> str:
    if not isinstance(value, str) or not DATE_PATTERN.match(value):
        raise InvalidValue("expected a date as YYYY-MM-DD")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise InvalidValue(f"{value} is not a calendar date") from None
    return value


VALIDATORS: dict[AttributeType, Callable[[Attribute, object], Any]] = {
    AttributeType.TEXT: _text,
    AttributeType.NUMBER: _number,
    AttributeType.CHECKBOX: _checkbox,
    AttributeType.DATE: _date,
}


def validate_value(attribute: Attribute, value: object) -> Any:
    """The stored form of `value`, or `ValidationFailed` naming the attribute."""
    if value is None:
        return None
    try:
        return VALIDATORS[attribute.type](attribute, value)
    except InvalidValue as problem:
        raise field_error(
            attribute.key, "invalid_value", f"'{attribute.key}' ({attribute.type}): {problem}."
        ) from None


def validate_values(schema: ObjectSchema, body: Mapping[str, object]) -> dict[str, Any]:
    """Validate a record body against the object; every problem is reported at once."""
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    for key, value in body.items():
        attribute = schema.attribute(key)
        if key in SYSTEM_ATTRIBUTES:
            errors.append(
                FieldError(
                    key, "system_attribute", f"'{key}' is a system attribute; it is read-only."
                )
            )
        elif attribute is None:
            errors.append(
                FieldError(
                    key, "unknown_attribute", f"'{key}' is not an attribute of '{schema.slug}'."
                )
            )
        else:
            try:
                values[key] = validate_value(attribute, value)
            except ValidationFailed as failure:
                errors.extend(failure.errors)
    if errors:
        raise ValidationFailed.of(errors)
    return values


def lookup_token(attribute: Attribute, value: Any) -> str:
    """The exact-equality form of a validated, non-null value, used as an index key."""
    if attribute.type is AttributeType.CHECKBOX:
        return "true" if value else "false"
    if attribute.type is AttributeType.NUMBER:
        return repr(value)
    return str(value)
