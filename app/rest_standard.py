"""The Zeeg shapes of the standard objects over REST: `person` and `company`.

Bodies use camelCase fields, `socials` and `companyId`; responses add the company as
{id, name, domain} and put custom attributes under `customAttributes`. Everything else is
the generic record path: these functions only translate.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from app.domain.errors import DomainError, FieldError
from app.domain.standard import COMPANIES, FIELDS, PEOPLE, SOCIALS
from app.views import RecordView

RESPONSE_KEYS = {PEOPLE: "person", COMPANIES: "company"}
SOCIAL_KEYS = {f"socials_{name}": name for name in SOCIALS}


def is_standard_slug(slug: str) -> bool:
    return slug in RESPONSE_KEYS


def to_attributes(slug: str, body: dict[str, Any]) -> dict[str, Any]:
    """A Zeeg body as attribute values; unknown fields pass on as custom attribute keys,
    so that validation names them."""
    fields, values = FIELDS[slug], {}
    for name, value in body.items():
        if name == "customAttributes" and isinstance(value, dict):
            values.update(value)
        elif name == "socials" and slug == PEOPLE and isinstance(value, dict):
            values.update({f"socials_{social}": url for social, url in value.items()})
        elif name == "companyId" and slug == PEOPLE:
            values["company"] = (
                None if value is None else [value] if isinstance(value, str) else value
            )
        else:
            values[fields.get(name, name)] = value
    return values


def field_name(slug: str, key: str | None) -> str | None:
    """The body field an attribute key came from, for error messages."""
    if key is None:
        return None
    if key in SOCIAL_KEYS:
        return f"socials.{SOCIAL_KEYS[key]}"
    return next((name for name, k in FIELDS[slug].items() if k == key), key)


def named(slug: str, errors: list[FieldError]) -> list[FieldError]:
    """Errors naming the Zeeg body fields of a standard object (others pass unchanged)."""
    if not is_standard_slug(slug):
        return errors
    return [FieldError(field_name(slug, e.field), e.code, e.message) for e in errors]


def translated(slug: str, error: DomainError) -> DomainError:
    error.errors = named(slug, error.errors)
    return error


CompanyLookup = Callable[[str], Awaitable[RecordView | None]]


async def to_zeeg(slug: str, record: RecordView, company_of: CompanyLookup) -> dict[str, Any]:
    values = dict(record.attributes)
    shaped: dict[str, Any] = {"id": record.id}
    for name, key in FIELDS[slug].items():
        if key != "company":
            shaped[name] = values.pop(key, None)
    if slug == PEOPLE:
        company_ids = values.pop("company", None) or []
        company = await company_of(company_ids[0]) if company_ids else None
        shaped["company"] = (
            None
            if company is None
            else {"id": company.id, **{k: company.attributes.get(k) for k in ("name", "domain")}}
        )
        shaped["socials"] = {name: values.pop(key, None) for key, name in SOCIAL_KEYS.items()}
    shaped["customAttributes"] = values
    shaped["createdAt"] = record.created_at
    shaped["updatedAt"] = record.updated_at
    return shaped
