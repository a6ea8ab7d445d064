"""The standard objects people and companies, in their Zeeg shapes (SPEC section 4)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tests.surface import Surface

pytestmark = pytest.mark.anyio


async def put(api: Api, slug: str, match: str, body: dict[str, Any]) -> tuple[int, Any]:
    response = await api.put(slug, match, body)
    return response.status_code, response.json()


async def test_every_workspace_has_people_and_companies(api: Api, transport: str) -> None:
    surface = Surface(api, transport)
    _, objects = await surface.list_objects()
    standard = {o["slug"]: o for o in objects if o["isStandard"]}
    assert set(standard) == {"people", "companies"}
    keys = {a["key"] for a in standard["people"]["attributes"]}
    assert {"first_name", "last_name", "emails", "company", "socials_linkedin"} <= keys
    assert (await Surface(api, transport, who="other").get_object("people"))[0] == 200


async def test_standard_objects_cant_be_renamed_or_have_fixed_attributes_changed(
    api: Api, transport: str
) -> None:
    surface = Surface(api, transport)
    assert (await surface.update_object("people", singularName="Human"))[0] == 403
    assert (await surface.update_attribute("people", "first_name", label="Given"))[0] == 403
    status, custom = await surface.add_attribute("people", label="Shoe Size", type="number")
    assert status == 201 and custom["key"] == "shoe_size"
    assert (await surface.update_attribute("people", "shoe_size", label="Size"))[0] == 200


async def test_companies_are_asserted_by_domain_only(api: Api) -> None:
    status, body = await put(api, "companies", "name", {"name": "Acme", "domain": "acme.com"})
    assert status == 400 and body["errors"][0]["field"] == "matchingAttribute"
    status, created = await put(api, "companies", "domain", {"name": "Acme", "domain": "Acme.COM"})
    assert status == 201
    assert created["company"]["domain"] == "acme.com"
    assert set(created["company"]) == {
        "id",
        "name",
        "domain",
        "customAttributes",
        "createdAt",
        "updatedAt",
    }
    status, again = await put(api, "companies", "domain", {"domain": "ACME.com", "name": "Acme 2"})
    assert status == 200 and again["company"]["id"] == created["company"]["id"]
    assert again["company"]["name"] == "Acme 2"
    status, body = await put(api, "companies", "domain", {"domain": "https://acme.com/"})
    assert status == 400 and body["errors"][0]["field"] == "domain"
    posted = await api.client.post(
        "/v2/crm/companies", json={"name": "Acme twin", "domain": "acme.com"}, headers=api.auth()
    )
    assert posted.status_code == 201  # POST creates without matching


async def test_people_match_primary_and_secondary_emails(api: Api) -> None:
    _, company = await put(api, "companies", "domain", {"name": "Acme", "domain": "acme.com"})
    company_id = company["company"]["id"]
    status, created = await put(
        api,
        "people",
        "email",
        {
            "firstName": "Ana",
            "lastName": "Lima",
            "emails": ["ana@acme.com", "ana.lima@gmail.com"],
            "jobTitle": "CTO",
            "companyId": company_id,
            "socials": {"linkedin": "https://linkedin.com/in/ana"},
        },
    )
    assert status == 201, created
    person = created["person"]
    assert person["firstName"] == "Ana" and person["jobTitle"] == "CTO"
    assert person["emails"] == ["ana@acme.com", "ana.lima@gmail.com"]
    assert person["company"] == {"id": company_id, "name": "Acme", "domain": "acme.com"}
    assert person["socials"]["linkedin"] == "https://linkedin.com/in/ana"
    assert person["customAttributes"] == {}

    # The secondary email, in another case, finds the same person.
    status, matched = await put(
        api, "people", "email", {"emails": ["Ana.Lima@gmail.com"], "jobTitle": "CEO"}
    )
    assert status == 200 and matched["person"]["id"] == person["id"]
    assert matched["person"]["jobTitle"] == "CEO"
    assert matched["person"]["emails"] == ["Ana.Lima@gmail.com"]
    # Other attributes match exactly, by their Zeeg names too.
    status, by_name = await put(api, "people", "lastName", {"lastName": "Lima", "salutation": "Dr"})
    assert status == 200 and by_name["person"]["id"] == person["id"]


async def test_people_need_a_name_and_errors_use_zeeg_field_names(api: Api) -> None:
    status, body = await put(api, "people", "email", {"emails": ["x@y.io"]})
    assert status == 400 and body["errors"][0]["field"] == "firstName"
    status, body = await put(
        api,
        "people",
        "email",
        {"emails": ["x@y.io"], "firstName": "X", "socials": {"twitter": "x"}},
    )
    assert status == 400 and body["errors"][0]["field"] == "socials.twitter"
    status, body = await put(
        api, "people", "email", {"emails": ["x@y.io"], "firstName": "X", "companyId": "nope"}
    )
    assert status == 400 and body["errors"][0]["field"] == "companyId"


async def test_custom_attributes_of_people(api: Api) -> None:
    await Surface(api, "rest").add_attribute("people", label="Shoe Size", type="number")
    status, created = await put(
        api,
        "people",
        "email",
        {"firstName": "Bo", "emails": ["bo@x.io"], "customAttributes": {"shoe_size": 44}},
    )
    assert status == 201 and created["person"]["customAttributes"] == {"shoe_size": 44}
    listed = await api.client.get("/v2/crm/people", headers=api.auth())
    assert [p["firstName"] for p in listed.json()["collection"]] == ["Bo"]


async def test_deleting_a_company_unlinks_its_people(api: Api) -> None:
    _, company = await put(api, "companies", "domain", {"name": "Acme", "domain": "acme.com"})
    company_id = company["company"]["id"]
    _, person = await put(
        api,
        "people",
        "email",
        {"firstName": "Cy", "emails": ["cy@acme.com"], "companyId": company_id},
    )
    deleted = await api.client.delete(f"/v2/crm/companies/{company_id}", headers=api.auth())
    assert deleted.status_code == 200
    fetched = await api.client.get(f"/v2/crm/people/{person['person']['id']}", headers=api.auth())
    assert fetched.json()["person"]["company"] is None
