"""Each SPEC section 4 operation over REST or over GraphQL, answered in one shape.

A test written against `Surface` runs once per transport, so every row of the REST table
has its GraphQL twin asserting the same result.
"""

from __future__ import annotations

from typing import Any

from tests.conftest import Api

ATTRIBUTE_FIELDS = """key label type isRequired isUnique isArchived isStandard validation
  options { id label } relatedObject currencyCode display"""
OBJECT_FIELDS = (
    f"slug singularName pluralName isActive isStandard attributes {{ {ATTRIBUTE_FIELDS} }}"
)
RECORD_FIELDS = "id objectSlug attributes createdAt updatedAt"
ERRORS = "errors { field code message }"

Result = tuple[int, Any]


def rest_attribute(attribute: dict[str, Any]) -> dict[str, Any]:
    """GraphQL's flat relatedObject/currencyCode in the REST shape."""
    shaped = {k: v for k, v in attribute.items() if k not in ("relatedObject", "currencyCode")}
    related, currency = attribute.get("relatedObject"), attribute.get("currencyCode")
    shaped["relation"] = {"objectSlug": related} if related else None
    shaped["currency"] = {"code": currency} if currency else None
    return shaped


def rest_object(schema: dict[str, Any]) -> dict[str, Any]:
    """A REST object without its timestamps (GraphQL's query does not ask for them)."""
    return {k: v for k, v in schema.items() if k not in ("createdAt", "updatedAt")}


def graphql_object(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "attributes": [rest_attribute(a) for a in schema["attributes"]]}


def graphql_attribute_args(body: dict[str, Any]) -> dict[str, Any]:
    args = {k: v for k, v in body.items() if k not in ("relation", "currency")}
    if "relation" in body:
        args["relatedObject"] = body["relation"]["objectSlug"]
    if "currency" in body:
        args["currencyCode"] = body["currency"]["code"]
    return args


class Surface:
    def __init__(self, api: Api, transport: str, who: str = "writer") -> None:
        self.api, self.transport, self.who = api, transport, who

    @property
    def rest(self) -> bool:
        return self.transport == "rest"

    async def _rest(self, method: str, path: str, **kw: Any) -> tuple[int, dict[str, Any]]:
        response = await self.api.client.request(
            method, f"/v2/crm{path}", headers=self.api.auth(self.who), **kw
        )
        return response.status_code, response.json()

    async def _gql(self, query: str, **variables: Any) -> dict[str, Any]:
        result = await self.api.graphql(query, variables, self.who)
        assert "errors" not in result, result
        data: dict[str, Any] = result["data"]
        return data

    @staticmethod
    def _payload(data: dict[str, Any], key: str, shape: Any = None) -> Result:
        if not data["success"]:
            return data["status"], data["errors"]
        value = data[key]
        return data["status"], shape(value) if shape else value

    # ---- objects --------------------------------------------------------------------

    async def create_object(self, slug: str, singular: str, plural: str) -> Result:
        if self.rest:
            status, body = await self._rest(
                "POST",
                "/objects",
                json={"slug": slug, "singularName": singular, "pluralName": plural},
            )
            return status, rest_object(body["object"]) if status < 300 else body["errors"]
        data = await self._gql(
            f"""mutation($slug: String!, $s: String!, $p: String!) {{
              createObject(slug: $slug, singularName: $s, pluralName: $p) {{
                success status object {{ {OBJECT_FIELDS} }} {ERRORS} }} }}""",
            slug=slug,
            s=singular,
            p=plural,
        )
        return self._payload(data["createObject"], "object", graphql_object)

    async def list_objects(self) -> Result:
        if self.rest:
            status, body = await self._rest("GET", "/objects")
            return status, [rest_object(o) for o in body["objects"]]
        data = await self._gql(f"query {{ objects {{ {OBJECT_FIELDS} }} }}")
        return 200, [graphql_object(o) for o in data["objects"]]

    async def get_object(self, slug: str) -> Result:
        if self.rest:
            status, body = await self._rest("GET", f"/objects/{slug}")
            return status, rest_object(body["object"]) if status < 300 else body["errors"]
        data = await self._gql(
            f"query($slug: String!) {{ object(slug: $slug) {{ {OBJECT_FIELDS} }} }}", slug=slug
        )
        found = data["object"]
        return (200, graphql_object(found)) if found else (404, None)

    async def update_object(self, slug: str, **names: str) -> Result:
        if self.rest:
            status, body = await self._rest("PATCH", f"/objects/{slug}", json=names)
            return status, rest_object(body["object"]) if status < 300 else body["errors"]
        data = await self._gql(
            f"""mutation($slug: String!, $singularName: String, $pluralName: String) {{
              updateObject(slug: $slug, singularName: $singularName, pluralName: $pluralName) {{
                success status object {{ {OBJECT_FIELDS} }} {ERRORS} }} }}""",
            slug=slug,
            singularName=names.get("singularName"),
            pluralName=names.get("pluralName"),
        )
        return self._payload(data["updateObject"], "object", graphql_object)

    async def add_attribute(self, slug: str, **body: Any) -> Result:
        if self.rest:
            status, answer = await self._rest("POST", f"/objects/{slug}/attributes", json=body)
            return status, answer["attribute"] if status < 300 else answer["errors"]
        args = graphql_attribute_args(body)
        data = await self._gql(
            f"""mutation($slug: String!, $label: String!, $type: String!,
                  $isRequired: Boolean! = false, $isUnique: Boolean! = false,
                  $validation: [String!], $options: [OptionInput!], $relatedObject: String,
                  $currencyCode: String, $display: JSON) {{
              addAttribute(objectSlug: $slug, label: $label, type: $type,
                  isRequired: $isRequired, isUnique: $isUnique, validation: $validation,
                  options: $options, relatedObject: $relatedObject,
                  currencyCode: $currencyCode, display: $display) {{
                success status attribute {{ {ATTRIBUTE_FIELDS} }} {ERRORS} }} }}""",
            slug=slug,
            **args,
        )
        return self._payload(data["addAttribute"], "attribute", rest_attribute)

    async def update_attribute(self, slug: str, key: str, **body: Any) -> Result:
        if self.rest:
            status, answer = await self._rest(
                "PATCH", f"/objects/{slug}/attributes/{key}", json=body
            )
            return status, answer["attribute"] if status < 300 else answer["errors"]
        data = await self._gql(
            f"""mutation($slug: String!, $key: String!, $label: String, $isRequired: Boolean,
                  $isArchived: Boolean, $options: [OptionInput!], $display: JSON) {{
              updateAttribute(objectSlug: $slug, key: $key, label: $label,
                  isRequired: $isRequired, isArchived: $isArchived, options: $options,
                  display: $display) {{
                success status attribute {{ {ATTRIBUTE_FIELDS} }} {ERRORS} }} }}""",
            slug=slug,
            key=key,
            **body,
        )
        return self._payload(data["updateAttribute"], "attribute", rest_attribute)

    # ---- records --------------------------------------------------------------------

    async def create_record(self, slug: str, attributes: dict[str, Any]) -> Result:
        if self.rest:
            status, body = await self._rest("POST", f"/{slug}", json=attributes)
            return status, body["record"] if status < 300 else body["errors"]
        data = await self._gql(
            f"""mutation($slug: String!, $a: JSON!) {{
              createRecord(objectSlug: $slug, attributes: $a)
              {{ success status record {{ {RECORD_FIELDS} }} {ERRORS} }} }}""",
            slug=slug,
            a=attributes,
        )
        return self._payload(data["createRecord"], "record")

    async def get_record(self, slug: str, record_id: str) -> Result:
        if self.rest:
            status, body = await self._rest("GET", f"/{slug}/{record_id}")
            return status, body["record"] if status < 300 else body["errors"]
        data = await self._gql(
            f"""query($slug: String!, $id: ID!) {{ record(objectSlug: $slug, id: $id)
              {{ {RECORD_FIELDS} }} }}""",
            slug=slug,
            id=record_id,
        )
        return (200, data["record"]) if data["record"] else (404, None)

    async def update_record(self, slug: str, record_id: str, attributes: dict[str, Any]) -> Result:
        if self.rest:
            status, body = await self._rest("PATCH", f"/{slug}/{record_id}", json=attributes)
            return status, body["record"] if status < 300 else body["errors"]
        data = await self._gql(
            f"""mutation($slug: String!, $id: ID!, $a: JSON!) {{
              updateRecord(objectSlug: $slug, id: $id, attributes: $a)
              {{ success status record {{ {RECORD_FIELDS} }} {ERRORS} }} }}""",
            slug=slug,
            id=record_id,
            a=attributes,
        )
        return self._payload(data["updateRecord"], "record")

    async def update_relation(
        self, slug: str, record_id: str, attribute: str, add: list[str], remove: list[str]
    ) -> Result:
        if self.rest:
            status, body = await self._rest(
                "PATCH",
                f"/{slug}/{record_id}/relation",
                json={"attributeSlug": attribute, "add": add, "remove": remove},
            )
            return status, body["record"] if status < 300 else body["errors"]
        data = await self._gql(
            f"""mutation($slug: String!, $id: ID!, $attr: String!, $add: [ID!], $remove: [ID!]) {{
              updateRelation(objectSlug: $slug, id: $id, attributeSlug: $attr, add: $add,
                remove: $remove) {{ success status record {{ {RECORD_FIELDS} }} {ERRORS} }} }}""",
            slug=slug,
            id=record_id,
            attr=attribute,
            add=add,
            remove=remove,
        )
        return self._payload(data["updateRelation"], "record")

    async def delete_record(self, slug: str, record_id: str) -> Result:
        if self.rest:
            status, body = await self._rest("DELETE", f"/{slug}/{record_id}")
            return status, body["message"] if status < 300 else body["errors"]
        data = await self._gql(
            f"""mutation($slug: String!, $id: ID!) {{ deleteRecord(objectSlug: $slug, id: $id)
              {{ success status message {ERRORS} }} }}""",
            slug=slug,
            id=record_id,
        )
        return self._payload(data["deleteRecord"], "message")

    async def all_records(self, slug: str, page_size: int) -> list[dict[str, Any]]:
        """Every record, page by page (REST pages, GraphQL cursors)."""
        records: list[dict[str, Any]] = []
        if self.rest:
            page = 1
            while True:
                status, body = await self._rest(
                    "GET", f"/{slug}", params={"count": page_size, "page": page}
                )
                assert status == 200, body
                records += body["collection"]
                if body["pagination"]["nextPage"] is None:
                    return records
                page = body["pagination"]["nextPage"]
        after = None
        while True:
            data = await self._gql(
                f"""query($slug: String!, $first: Int!, $after: String) {{
                  records(objectSlug: $slug, first: $first, after: $after) {{
                    edges {{ cursor node {{ {RECORD_FIELDS} }} }}
                    pageInfo {{ hasNextPage endCursor }} totalCount }} }}""",
                slug=slug,
                first=page_size,
                after=after,
            )
            connection = data["records"]
            records += [edge["node"] for edge in connection["edges"]]
            if not connection["pageInfo"]["hasNextPage"]:
                return records
            after = connection["pageInfo"]["endCursor"]
