"""SPEC section 4, row by row; every test runs over REST and over GraphQL (its twin)."""

from __future__ import annotations

import pytest

from tests.conftest import Api, assert_via
from tests.surface import Surface

pytestmark = pytest.mark.anyio


@pytest.fixture
def surface(api: Api, transport: str) -> Surface:
    return Surface(api, transport)


async def deals(surface: Surface) -> None:
    status, _ = await surface.create_object("deals", "Deal", "Deals")
    assert status == 201
    for body in (
        {"label": "Code", "type": "text", "isUnique": True},
        {"label": "Amount", "type": "currency", "currency": {"code": "EUR"}},
        {"label": "Stage", "type": "status", "options": [{"label": "Open"}, {"label": "Won"}]},
    ):
        status, answer = await surface.add_attribute("deals", **body)
        assert status == 201, answer


async def test_objects_create_list_get_rename(surface: Surface) -> None:
    status, created = await surface.create_object("deals", "Deal", "Deals")
    assert (status, created["slug"], created["isStandard"], created["attributes"]) == (
        201,
        "deals",
        False,
        [],
    )
    status, listed = await surface.list_objects()
    assert status == 200 and "deals" in [o["slug"] for o in listed]
    status, fetched = await surface.get_object("deals")
    assert (status, fetched) == (200, created)
    status, renamed = await surface.update_object("deals", singularName="Opportunity")
    assert status == 200
    assert (renamed["singularName"], renamed["pluralName"]) == ("Opportunity", "Deals")
    status, errors = await surface.update_object("deals", singularName="")
    assert status == 400 and errors[0]["code"] == "invalid_name"
    assert (await surface.get_object("nope"))[0] == 404


async def test_attribute_types_with_their_settings(surface: Surface) -> None:
    await surface.create_object("deals", "Deal", "Deals")
    await surface.create_object("companies_x", "Company", "Companies")
    cases = [
        {"label": "Phone", "type": "phone_number", "isUnique": True},
        {"label": "Closes At", "type": "datetime"},
        {"label": "Tags", "type": "multiselect", "options": [{"label": "A"}, {"label": "B"}]},
        {"label": "Stars", "type": "rating", "display": {"icon": "star"}},
        {"label": "Amount", "type": "currency", "currency": {"code": "USD"}},
        {"label": "Account", "type": "relation", "relation": {"objectSlug": "companies_x"}},
        {"label": "Owners", "type": "user"},
    ]
    for body in cases:
        status, attribute = await surface.add_attribute("deals", **body)
        assert status == 201, attribute
        assert attribute["type"] == body["type"]
    status, schema = await surface.get_object("deals")
    by_key = {a["key"]: a for a in schema["attributes"]}
    assert by_key["phone"]["isUnique"] is True
    assert [o["label"] for o in by_key["tags"]["options"]] == ["A", "B"]
    assert by_key["stars"]["display"] == {"icon": "star"}
    assert by_key["amount"]["currency"] == {"code": "USD"}
    assert by_key["account"]["relation"] == {"objectSlug": "companies_x"}
    status, errors = await surface.add_attribute(
        "deals", label="Ghost", type="relation", relation={"objectSlug": "ghosts"}
    )
    assert status == 400 and errors[0]["code"] == "unknown_object"


async def test_updating_options_keeps_the_ids_of_those_kept(surface: Surface) -> None:
    await deals(surface)
    _, schema = await surface.get_object("deals")
    stage = next(a for a in schema["attributes"] if a["key"] == "stage")
    open_, won = stage["options"]
    status, updated = await surface.update_attribute(
        "deals",
        "stage",
        options=[{"id": won["id"], "label": "Closed won"}, {"label": "Lost"}],
    )
    assert status == 200
    assert updated["options"][0]["id"] == won["id"]
    assert [o["label"] for o in updated["options"]] == ["Closed won", "Lost"]
    assert updated["options"][1]["id"] not in (open_["id"], won["id"])
    status, errors = await surface.update_attribute(
        "deals", "stage", options=[{"id": "made-up", "label": "X"}]
    )
    assert status == 400 and errors[0]["code"] == "unknown_option"
    status, errors = await surface.update_attribute("deals", "nothing", label="X")
    assert status == 404


async def test_archived_attributes_hide_but_keep_their_data(api: Api, surface: Surface) -> None:
    await deals(surface)
    status, record = await surface.create_record("deals", {"code": "D1", "amount": 10})
    assert status == 201
    status, _ = await surface.update_attribute("deals", "amount", isArchived=True)
    assert status == 200
    status, hidden = await surface.get_record("deals", record["id"])
    assert "amount" not in hidden["attributes"]
    status, errors = await surface.update_record("deals", record["id"], {"amount": 5})
    assert status == 400 and errors[0]["code"] == "archived_attribute"
    await surface.update_attribute("deals", "amount", isArchived=False)
    status, back = await surface.get_record("deals", record["id"])
    assert back["attributes"]["amount"] == 10
    # Still indexed while archived: it matches again at once.
    outcome = await assert_via(api, surface.transport, "deals", "amount", {"amount": 10})
    assert outcome.status == 200 and outcome.record and outcome.record["id"] == record["id"]


async def test_type_and_key_are_immutable(api: Api) -> None:
    await deals(Surface(api, "rest"))
    for body in ({"type": "number"}, {"key": "x"}, {"label": "Y", "type": "text"}):
        response = await api.client.patch(
            "/v2/crm/objects/deals/attributes/code", json=body, headers=api.auth()
        )
        assert response.status_code == 400
        assert response.json()["errors"][0]["code"] == "immutable"
    slug = await api.client.patch("/v2/crm/objects/deals", json={"slug": "x"}, headers=api.auth())
    assert slug.status_code == 400


async def test_create_get_patch_a_record(surface: Surface) -> None:
    await deals(surface)
    _, schema = await surface.get_object("deals")
    won = next(a for a in schema["attributes"] if a["key"] == "stage")["options"][1]["id"]
    status, record = await surface.create_record(
        "deals", {"code": "D1", "amount": 99.5, "stage": {"id": won}}
    )
    assert status == 201
    assert record["attributes"] == {"code": "D1", "amount": 99.5, "stage": {"id": won}}
    status, again = await surface.create_record("deals", {"code": "D1"})
    assert status == 400 and again[0]["code"] == "unique_conflict"
    status, patched = await surface.update_record("deals", record["id"], {"amount": 100})
    assert status == 200
    assert patched["attributes"] == {"code": "D1", "amount": 100, "stage": {"id": won}}
    assert patched["createdAt"] == record["createdAt"]
    status, fetched = await surface.get_record("deals", record["id"])
    assert (status, fetched) == (200, patched)
    status, errors = await surface.update_record("deals", record["id"], {"stage": {"id": "no"}})
    assert status == 400 and errors[0]["field"] == "stage"
    assert (await surface.get_record("deals", "0190f1c2-7a1b-7c3d-8e4f-000000000000"))[0] == 404


async def relations(surface: Surface) -> tuple[str, str, str]:
    await surface.create_object("accounts", "Account", "Accounts")
    await surface.add_attribute("accounts", label="Name", type="text")
    await surface.create_object("deals", "Deal", "Deals")
    await surface.add_attribute("deals", label="Code", type="text")
    await surface.add_attribute(
        "deals", label="Accounts", type="relation", relation={"objectSlug": "accounts"}
    )
    _, a = await surface.create_record("accounts", {"name": "A"})
    _, b = await surface.create_record("accounts", {"name": "B"})
    status, deal = await surface.create_record("deals", {"code": "D", "accounts": [a["id"]]})
    assert status == 201, deal
    return a["id"], b["id"], deal["id"]


async def test_relations_add_remove_and_must_exist(surface: Surface) -> None:
    a, b, deal = await relations(surface)
    status, record = await surface.update_relation("deals", deal, "accounts", [b], [a])
    assert (status, record["attributes"]["accounts"]) == (200, [b])
    status, record = await surface.update_relation("deals", deal, "accounts", [a, b], [])
    assert record["attributes"]["accounts"] == [b, a]
    missing = "0190f1c2-7a1b-7c3d-8e4f-000000000000"
    status, errors = await surface.update_relation("deals", deal, "accounts", [missing], [])
    assert status == 400 and errors[0]["field"] == "accounts" and missing in errors[0]["message"]
    status, errors = await surface.create_record("deals", {"code": "E", "accounts": [deal]})
    assert status == 400  # a deal is not an account
    status, errors = await surface.update_relation("deals", deal, "code", [a], [])
    assert status == 400 and errors[0]["code"] == "invalid_relation_attribute"


async def test_delete_releases_keys_and_relations(api: Api, surface: Surface) -> None:
    a, b, deal = await relations(surface)
    await surface.update_relation("deals", deal, "accounts", [b], [])
    status, message = await surface.delete_record("accounts", a)
    assert (status, message) == (200, "Record deleted.")
    assert (await surface.delete_record("accounts", a))[0] == 404
    assert (await surface.get_record("accounts", a))[0] == 404
    _, record = await surface.get_record("deals", deal)
    assert record["attributes"]["accounts"] == [b]
    stream = await api.store.read_stream("acme", f"record-{a}")
    assert [e.type.value for e in stream] == ["RecordCreated", "RecordDeleted"]


async def test_delete_releases_unique_values(surface: Surface) -> None:
    await deals(surface)
    _, record = await surface.create_record("deals", {"code": "D1"})
    await surface.delete_record("deals", record["id"])
    status, again = await surface.create_record("deals", {"code": "D1"})
    assert status == 201 and again["id"] != record["id"]


async def test_listing_pages_in_creation_order(surface: Surface) -> None:
    await deals(surface)
    ids = [(await surface.create_record("deals", {"code": f"D{n}"}))[1]["id"] for n in range(7)]
    await surface.delete_record("deals", ids[3])
    listed = await surface.all_records("deals", page_size=2)
    assert [r["id"] for r in listed] == ids[:3] + ids[4:]


async def test_rest_pagination_envelope(api: Api) -> None:
    surface = Surface(api, "rest")
    await deals(surface)
    for n in range(5):
        await surface.create_record("deals", {"code": f"D{n}"})
    response = await api.client.get(
        "/v2/crm/deals", params={"count": 2, "page": 2}, headers=api.auth()
    )
    body = response.json()
    assert (response.status_code, body["success"], len(body["collection"])) == (200, True, 2)
    assert body["pagination"] == {
        "total": 5,
        "count": 2,
        "totalPages": 3,
        "currentPage": 2,
        "previousPage": 1,
        "nextPage": 3,
    }
    last = (await api.client.get("/v2/crm/deals?count=2&page=3", headers=api.auth())).json()
    assert last["pagination"]["nextPage"] is None and len(last["collection"]) == 1
    beyond = (await api.client.get("/v2/crm/deals?page=9", headers=api.auth())).json()
    assert beyond["collection"] == [] and beyond["pagination"]["total"] == 5
    for bad in ("count=0", "count=101", "page=0", "count=abc"):
        response = await api.client.get(f"/v2/crm/deals?{bad}", headers=api.auth())
        assert response.status_code == 400, bad


async def test_history_newest_first_with_changes(api: Api) -> None:
    surface = Surface(api, "rest")
    await deals(surface)
    _, record = await surface.create_record("deals", {"code": "D1", "amount": 1})
    await surface.update_record("deals", record["id"], {"amount": 2})
    result = await api.graphql(
        """query($id: ID!) { record(objectSlug: "deals", id: $id) {
             history { version type source changes { attribute old new } } } }""",
        {"id": record["id"]},
    )
    history = result["data"]["record"]["history"]
    assert history == [
        {
            "version": 2,
            "type": "RecordUpdated",
            "source": "rest",
            "changes": [{"attribute": "amount", "old": 1, "new": 2}],
        },
        {
            "version": 1,
            "type": "RecordCreated",
            "source": "rest",
            "changes": [
                {"attribute": "code", "old": None, "new": "D1"},
                {"attribute": "amount", "old": None, "new": 1},
            ],
        },
    ]


async def test_both_transports_give_the_same_results(api: Api) -> None:
    rest, graphql = Surface(api, "rest"), Surface(api, "graphql")
    await deals(rest)
    _, created = await rest.create_record("deals", {"code": "D1", "amount": 3})
    for read in ("get_object", "get_record"):
        args = ("deals",) if read == "get_object" else ("deals", created["id"])
        assert await getattr(rest, read)(*args) == await getattr(graphql, read)(*args)
    assert await rest.list_objects() == await graphql.list_objects()
    assert await rest.all_records("deals", 5) == await graphql.all_records("deals", 5)
    bad = {"amount": "3"}
    assert await rest.update_record("deals", created["id"], bad) == await graphql.update_record(
        "deals", created["id"], bad
    )


async def test_writes_need_the_write_scope(api: Api, transport: str) -> None:
    await deals(Surface(api, "rest"))
    reader = Surface(api, transport, who="reader")
    _, record = await Surface(api, "rest").create_record("deals", {"code": "D1"})
    assert (await reader.create_record("deals", {"code": "D2"}))[0] == 403
    assert (await reader.update_record("deals", record["id"], {"code": "X"}))[0] == 403
    assert (await reader.delete_record("deals", record["id"]))[0] == 403
    assert (await reader.update_object("deals", singularName="X"))[0] == 403
    assert (await reader.get_record("deals", record["id"]))[0] == 200
