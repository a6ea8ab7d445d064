"""Every attribute type: what it accepts (and stores), and what it refuses, at the edges."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain.errors import ValidationFailed
from app.domain.objects import Attribute, AttributeSpec, AttributeType, Option, check_attribute_spec
from app.domain.values import lookup_tokens, validate_value

OPTIONS = [Option(id="opt-red", label="Red"), Option(id="opt-blue", label="Blue")]
UUID_A = "0190f1c2-7a1b-7c3d-8e4f-123456789abc"
UUID_B = "0190f1c2-7a1b-7c3d-8e4f-123456789abd"


def of(type_: AttributeType, **extra: Any) -> Attribute:
    return Attribute(key="field", label="Field", type=type_, **extra)


ACCEPTED = [
    (of(AttributeType.TEXT), "a" * 255, "a" * 255),
    (of(AttributeType.TEXT, validation=["email"]), "ana@example.com", "ana@example.com"),
    (of(AttributeType.TEXT, validation=["url"]), "https://x.io/a", "https://x.io/a"),
    (of(AttributeType.NUMBER), 29.0, 29),
    (of(AttributeType.NUMBER), -1.5, -1.5),
    (of(AttributeType.PHONE_NUMBER), "+49 151 1234-5678", "+4915112345678"),
    (of(AttributeType.PHONE_NUMBER), "+1234567", "+1234567"),
    (of(AttributeType.CHECKBOX), True, True),
    (of(AttributeType.DATE), "2024-02-29", "2024-02-29"),
    (of(AttributeType.DATETIME), "2025-06-01T12:00:00+02:00", "2025-06-01T10:00:00+00:00"),
    (of(AttributeType.DATETIME), "2025-06-01T10:00:00Z", "2025-06-01T10:00:00+00:00"),
    (of(AttributeType.SELECT, options=OPTIONS), {"id": "opt-red"}, {"id": "opt-red"}),
    (of(AttributeType.STATUS, options=OPTIONS), {"id": "opt-blue"}, {"id": "opt-blue"}),
    (
        of(AttributeType.MULTISELECT, options=OPTIONS),
        [{"id": "opt-red"}, {"id": "opt-blue"}],
        [{"id": "opt-red"}, {"id": "opt-blue"}],
    ),
    (of(AttributeType.MULTISELECT, options=OPTIONS), [], []),
    (of(AttributeType.RATING), 0, 0),
    (of(AttributeType.RATING), 5, 5),
    (of(AttributeType.RATING), 4.0, 4),
    (of(AttributeType.CURRENCY), 19.99, 19.99),
    (of(AttributeType.RELATION, related_object="companies"), [UUID_A], [UUID_A]),
    (of(AttributeType.USER), [UUID_A, UUID_B], [UUID_A, UUID_B]),
    (of(AttributeType.TEXT), None, None),
]

REFUSED = [
    (of(AttributeType.TEXT), "a" * 256),
    (of(AttributeType.TEXT), 7),
    (of(AttributeType.TEXT, validation=["email"]), "ana@"),
    (of(AttributeType.TEXT, validation=["url"]), "ftp://x.io"),
    (of(AttributeType.NUMBER), True),
    (of(AttributeType.NUMBER), "29"),
    (of(AttributeType.NUMBER), float("nan")),
    (of(AttributeType.PHONE_NUMBER), "0151 1234567"),
    (of(AttributeType.PHONE_NUMBER), "+123456"),
    (of(AttributeType.PHONE_NUMBER), "+1234567890123456"),
    (of(AttributeType.PHONE_NUMBER), 4915112345678),
    (of(AttributeType.CHECKBOX), "true"),
    (of(AttributeType.CHECKBOX), 0),
    (of(AttributeType.DATE), "2025-02-30"),
    (of(AttributeType.DATE), "01.06.2025"),
    (of(AttributeType.DATETIME), "2025-06-01T10:00:00"),  # no offset
    (of(AttributeType.DATETIME), "2025-02-30T10:00:00Z"),
    (of(AttributeType.DATETIME), "2025-06-01"),
    (of(AttributeType.SELECT, options=OPTIONS), {"id": "opt-green"}),
    (of(AttributeType.SELECT, options=OPTIONS), "opt-red"),
    (of(AttributeType.SELECT, options=OPTIONS), {"id": "opt-red", "label": "Red"}),
    (of(AttributeType.STATUS, options=OPTIONS), {"id": "opt-gone"}),
    (of(AttributeType.MULTISELECT, options=OPTIONS), [{"id": "opt-red"}, {"id": "opt-red"}]),
    (of(AttributeType.MULTISELECT, options=OPTIONS), [{"id": "nope"}]),
    (of(AttributeType.MULTISELECT, options=OPTIONS), {"id": "opt-red"}),
    (of(AttributeType.RATING), 6),
    (of(AttributeType.RATING), -1),
    (of(AttributeType.RATING), 2.5),
    (of(AttributeType.RATING), True),
    (of(AttributeType.CURRENCY), "19.99"),
    (of(AttributeType.RELATION, related_object="companies"), UUID_A),
    (of(AttributeType.RELATION, related_object="companies"), ["not-a-uuid"]),
    (of(AttributeType.RELATION, related_object="companies"), [UUID_A, UUID_A]),
    (of(AttributeType.USER), [42]),
]


@pytest.mark.parametrize(("attribute", "value", "stored"), ACCEPTED)
def test_accepted(attribute: Attribute, value: object, stored: object) -> None:
    assert validate_value(attribute, value) == stored


@pytest.mark.parametrize(("attribute", "value"), REFUSED)
def test_refused_with_the_attribute_named(attribute: Attribute, value: object) -> None:
    with pytest.raises(ValidationFailed) as failure:
        validate_value(attribute, value)
    (error,) = failure.value.errors
    assert (error.field, error.code) == ("field", "invalid_value")
    assert attribute.type.value in error.message


def test_every_creatable_type_is_covered() -> None:
    covered = {a.type for a, *_ in ACCEPTED} & {a.type for a, _ in REFUSED}
    assert covered >= set(AttributeType) - {AttributeType.EMAILS}


def test_list_values_are_indexed_by_element() -> None:
    relation = of(AttributeType.RELATION, related_object="companies")
    assert lookup_tokens(relation, [UUID_A, UUID_B]) == [UUID_A, UUID_B]
    multiselect = of(AttributeType.MULTISELECT, options=OPTIONS)
    assert lookup_tokens(multiselect, [{"id": "opt-red"}]) == ["opt-red"]


@pytest.mark.parametrize(
    ("spec", "field", "code"),
    [
        (
            AttributeSpec("Colour", "select", options=[{"label": "Red"}, {"label": "red"}]),
            "options",
            "duplicate_option",
        ),
        (
            AttributeSpec("Colour", "select", options=[{"id": "x", "label": "Red"}]),
            "options",
            "unknown_option",
        ),
        (AttributeSpec("Colour", "text", options=[{"label": "Red"}]), "options", "invalid_options"),
        (AttributeSpec("Company", "relation"), "relation", "invalid_relation"),
        (
            AttributeSpec("Price", "number", related_object="companies"),
            "relation",
            "invalid_relation",
        ),
        (AttributeSpec("Price", "currency", currency_code="euro"), "currency", "invalid_currency"),
        (AttributeSpec("Price", "number", currency_code="EUR"), "currency", "invalid_currency"),
        (AttributeSpec("Stars", "rating", is_unique=True), "isUnique", "unique_not_supported"),
        (AttributeSpec("Mails", "emails"), "type", "invalid_type"),
        (AttributeSpec("X", "text", display=[1]), "display", "invalid_display"),
        (AttributeSpec("X", "text", is_required="yes"), "isRequired", "invalid_value"),
    ],
)
def test_bad_definitions(spec: AttributeSpec, field: str, code: str) -> None:
    with pytest.raises(ValidationFailed) as failure:
        check_attribute_spec(spec)
    assert [(e.field, e.code) for e in failure.value.errors] == [(field, code)]


def test_options_get_ids_and_phone_numbers_can_be_unique() -> None:
    select = check_attribute_spec(AttributeSpec("Colour", "select", options=[{"label": "Red"}]))
    assert select.options[0].label == "Red" and select.options[0].id
    phone = check_attribute_spec(AttributeSpec("Phone", "phone_number", is_unique=True))
    assert phone.is_unique
