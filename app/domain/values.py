"""Attribute values: the shape each type accepts, its stored form, and its lookup token."""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from app.domain.errors import FieldError, ValidationFailed, field_error
from app.domain.objects import (
    LIST_TYPES,
    SYSTEM_ATTRIBUTES,
    Attribute,
    AttributeType,
    ObjectSchema,
)

MAX_TEXT_LENGTH = 255
# Integers beyond this lose precision in JSON clients and overflow BSON's int64 anyway.
MAX_SAFE_INTEGER = 2**53 - 1

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
URL_PATTERN = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATETIME_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
DOMAIN_PATTERN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
PHONE_SEPARATORS = re.compile(r"[\s\-().]")
PHONE_PATTERN = re.compile(r"^\+\d{7,15}$")
MAX_RATING = 5


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
    if "domain" in attribute.validation and value:
        # Domains compare case-insensitively: store one form.
        value = value.strip().lower()
        if not DOMAIN_PATTERN.match(value):
            raise InvalidValue("must be a domain name like example.com (no scheme, no path)")
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


def _datetime(attribute: Attribute, value: object) -> str:
    if not isinstance(value, str) or not DATETIME_PATTERN.match(value):
        raise InvalidValue("expected an ISO 8601 date-time with a UTC offset")
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise InvalidValue(f"{value} is not a real date-time") from None
    if moment.tzinfo is None:
        raise InvalidValue("the date-time needs a UTC offset (Z or +00:00)")
    return moment.astimezone(UTC).isoformat()


def _phone_number(attribute: Attribute, value: object) -> str:
    if not isinstance(value, str):
        raise InvalidValue("expected a phone number as a string, like +4915112345678")
    compact = PHONE_SEPARATORS.sub("", value)
    if not PHONE_PATTERN.match(compact):
        raise InvalidValue("expected '+' and 7-15 digits (spaces, dashes allowed)")
    return compact


def _option(attribute: Attribute, value: object) -> dict[str, str]:
    if not isinstance(value, dict) or set(value) != {"id"} or not isinstance(value["id"], str):
        raise InvalidValue('expected {"id": "<option id>"}')
    if value["id"] not in attribute.option_ids():
        raise InvalidValue(f"{value['id']!r} is not one of its options")
    return {"id": value["id"]}


def _options(attribute: Attribute, value: object) -> list[dict[str, str]]:
    if not isinstance(value, list):
        raise InvalidValue('expected a list of {"id": "<option id>"}')
    chosen = [_option(attribute, item) for item in value]
    ids = [item["id"] for item in chosen]
    if len(set(ids)) != len(ids):
        raise InvalidValue("an option is chosen twice")
    return chosen


def _rating(attribute: Attribute, value: object) -> int:
    number = _number(attribute, value)
    if not isinstance(number, int) or not 0 <= number <= MAX_RATING:
        raise InvalidValue(f"expected a whole number from 0 to {MAX_RATING}")
    return number


def _uuids(attribute: Attribute, value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidValue("expected a list of ids")
    ids = []
    for item in value:
        try:
            ids.append(str(uuid.UUID(item)))
        except ValueError:
            raise InvalidValue(f"{item!r} is not an id") from None
    if len(set(ids)) != len(ids):
        raise InvalidValue("an id is given twice")
    return ids


def _emails(attribute: Attribute, value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidValue("expected a list of email addresses, the primary first")
    emails = []
    for item in value:
        if len(item) > MAX_TEXT_LENGTH or not EMAIL_PATTERN.match(item):
            raise InvalidValue(f"{item!r} is not an email address")
        emails.append(item)
    if len({email.casefold() for email in emails}) != len(emails):
        raise InvalidValue("an email address is given twice")
    return emails


VALIDATORS: dict[AttributeType, Callable[[Attribute, object], Any]] = {
    AttributeType.TEXT: _text,
    AttributeType.NUMBER: _number,
    AttributeType.PHONE_NUMBER: _phone_number,
    AttributeType.CHECKBOX: _checkbox,
    AttributeType.DATE: _date,
    AttributeType.DATETIME: _datetime,
    AttributeType.SELECT: _option,
    AttributeType.STATUS: _option,
    AttributeType.MULTISELECT: _options,
    AttributeType.RATING: _rating,
    AttributeType.CURRENCY: _number,
    AttributeType.RELATION: _uuids,
    AttributeType.USER: _uuids,
    AttributeType.EMAILS: _emails,
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
        elif attribute is None and schema.attribute(key, include_archived=True):
            errors.append(
                FieldError(key, "archived_attribute", f"'{key}' is archived; unarchive it first.")
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


def lookup_tokens(attribute: Attribute, value: Any) -> list[str]:
    """The exact-equality forms of a validated, non-null value, used as index keys.

    A list value (multiselect, relation, user, emails) has one token per element, so that a
    record is found by any of them: people by any of their emails, and the records that
    point at a deleted record through a relation.
    """
    token = TOKENS.get(attribute.type, str)  # looked up once for all of a list's elements
    if attribute.type in LIST_TYPES:
        return [token(item) for item in value]
    return [token(value)]


def lookup_token(attribute: Attribute, value: Any) -> str:
    """The exact-equality form of one validated, non-null scalar value."""
    return TOKENS.get(attribute.type, str)(value)


def _option_token(value: Any) -> str:
    return str(value["id"])


def _checkbox_token(value: Any) -> str:
    return "true" if value else "false"


def _email_token(value: Any) -> str:
    return str(value).casefold()


# Types whose token is not simply str(value). Numbers use repr: stored numbers are already
# normalised (29.0 -> 29), so equal numbers have equal tokens.
TOKENS: dict[AttributeType, Callable[[Any], str]] = {
    AttributeType.CHECKBOX: _checkbox_token,
    AttributeType.NUMBER: repr,
    AttributeType.CURRENCY: repr,
    AttributeType.RATING: repr,
    AttributeType.SELECT: _option_token,
    AttributeType.STATUS: _option_token,
    AttributeType.MULTISELECT: _option_token,
    AttributeType.EMAILS: _email_token,
}
