"""The standard objects every workspace has: `people` and `companies` (Zeeg).

They are ordinary objects whose own attributes are marked standard (fixed); clients add
custom attributes beside them. The REST shim speaks their Zeeg body (camelCase fields,
`socials`, `companyId`); `FIELDS` maps that body onto attribute keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.domain.errors import FieldError, ValidationFailed, field_error
from app.domain.events import Event, EventMetadata
from app.domain.objects import Attribute, AttributeType, ObjectSchema, object_created

PEOPLE, COMPANIES = "people", "companies"
SOCIALS = ("linkedin", "twitter", "facebook", "instagram")


def _fixed(key: str, label: str, type_: AttributeType, **extra: Any) -> Attribute:
    return Attribute(key=key, label=label, type=type_, is_standard=True, **extra)


TEXT, URL = AttributeType.TEXT, {"validation": ["url"]}
DEFINITIONS: dict[str, tuple[str, str, list[Attribute]]] = {
    PEOPLE: (
        "Person",
        "People",
        [
            _fixed("first_name", "First name", TEXT),
            _fixed("last_name", "Last name", TEXT),
            _fixed("salutation", "Salutation", TEXT),
            _fixed("emails", "Emails", AttributeType.EMAILS),
            _fixed("job_title", "Job title", TEXT),
            _fixed("description", "Description", TEXT),
            _fixed("phone_number", "Phone number", AttributeType.PHONE_NUMBER),
            _fixed("primary_location", "Primary location", TEXT),
            _fixed("avatar_url", "Avatar URL", TEXT, **URL),
            _fixed("company", "Company", AttributeType.RELATION, related_object=COMPANIES),
            *(_fixed(f"socials_{s}", s.capitalize(), TEXT, **URL) for s in SOCIALS),
        ],
    ),
    COMPANIES: (
        "Company",
        "Companies",
        [
            _fixed("name", "Name", TEXT),
            _fixed("domain", "Domain", TEXT, validation=["domain"]),
        ],
    ),
}

# Zeeg body field -> attribute key, for the fields that are not custom attributes.
FIELDS: dict[str, dict[str, str]] = {
    PEOPLE: {
        "firstName": "first_name",
        "lastName": "last_name",
        "salutation": "salutation",
        "emails": "emails",
        "jobTitle": "job_title",
        "description": "description",
        "phoneNumber": "phone_number",
        "primaryLocation": "primary_location",
        "avatarUrl": "avatar_url",
        "companyId": "company",
    },
    COMPANIES: {"name": "name", "domain": "domain"},
}


def is_standard(schema: ObjectSchema) -> bool:
    return schema.is_standard and schema.slug in DEFINITIONS


def created_event(workspace: str, slug: str, metadata: EventMetadata, now: datetime) -> Event:
    singular, plural, attributes = DEFINITIONS[slug]
    return object_created(workspace, slug, singular, plural, True, metadata, now, attributes)


def matching_key(schema: ObjectSchema, key: str | None) -> str | None:
    """The attribute key an assert on a standard object matches on (Zeeg's rules)."""
    if not is_standard(schema):
        return key
    if schema.slug == COMPANIES and key != "domain":
        raise field_error(
            "matchingAttribute",
            "invalid_matching_attribute",
            "Companies are asserted by domain only: use matchingAttribute=domain.",
        )
    if schema.slug == PEOPLE and key in ("email", "emails"):
        return "emails"
    return FIELDS[schema.slug].get(key or "", key)


def check_record(schema: ObjectSchema, values: Mapping[str, Any]) -> None:
    """Rules of a standard object over a record's whole new state."""
    nameless = values.get("first_name") is None and values.get("last_name") is None
    if schema.slug == PEOPLE and is_standard(schema) and nameless:
        raise ValidationFailed.of(
            [FieldError("first_name", "required", "A person needs a first name or a last name.")]
        )
