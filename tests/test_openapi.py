"""The OpenAPI document describes every response: a schema for each 2xx, problem+json for 4xx."""

import pytest

PROBLEM = "application/problem+json"
METHODS = {"get", "post", "put", "patch", "delete"}
# OGC API - Features answers a parameter it cannot use with 400, not 422 (app/api/ogc_params.py).
OGC = "/ogc"
# Every operation of the API this test holds to the rules below.
EXPECTED_OPERATIONS = 48
# Statuses beyond 404 / 422 that a route raises itself.
OWN_STATUSES = {("get", "/jobs/{job_id}/result"): "409"}
# Operations open to everyone whatever the settings; every other one takes an API key.
ALWAYS_OPEN = {("get", "/health"), ("get", "/health/live"), ("get", "/health/ready")}


@pytest.fixture(scope="module")
def document(client) -> dict:
    """The served OpenAPI document."""
    return client.get("/openapi.json").json()


def operations(document: dict) -> list[tuple[str, str, dict]]:
    """(path, method, operation) of every operation this test checks."""
    return [
        (path, method, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def names_a_model(schema: dict) -> bool:
    """A $ref to a component, directly or as the items / a variant of the schema."""
    if "$ref" in schema:
        return True
    if "items" in schema:
        return names_a_model(schema["items"])
    variants = schema.get("anyOf") or schema.get("oneOf") or []
    return bool(variants) and all(names_a_model(v) for v in variants)


def problems_in(document: dict) -> list[str]:
    """Every way an operation falls short of the rules, in words."""
    found = []
    for path, method, op in operations(document):
        where = f"{method.upper()} {path}"
        responses = op.get("responses", {})
        success = {s: r for s, r in responses.items() if s.startswith("2")}
        if not success:
            found.append(f"{where}: no 2xx response")
        for status, response in success.items():
            content = response.get("content") or {}
            if status == "204":
                if content:
                    found.append(f"{where} 204: documents a body")
                continue
            if not content:
                found.append(f"{where} {status}: no content")
            for media, body in content.items():
                schema = body.get("schema") or {}
                if not schema:
                    found.append(f"{where} {status} {media}: no schema")
                elif media == "application/json" and not names_a_model(schema):
                    found.append(f"{where} {status}: JSON without a response model")
        # `default` (OGC routes: any other error) is a problem too.
        errors = {s: r for s, r in responses.items() if s.startswith("4") or s == "default"}
        for status, response in errors.items():
            if set(response.get("content", {})) != {PROBLEM}:
                found.append(f"{where} {status}: not documented as {PROBLEM}")
            else:
                ref = response["content"][PROBLEM]["schema"].get("$ref")
                if ref != "#/components/schemas/Problem":
                    found.append(f"{where} {status}: not the Problem schema")
        takes_input = op.get("parameters") or op.get("requestBody")
        invalid = "400" if path.startswith(OGC) else "422"
        if takes_input and invalid not in responses:
            found.append(f"{where}: takes input but does not document {invalid}")
        if path.startswith(OGC) and "422" in responses:
            found.append(f"{where}: documents 422, but OGC routes answer 400")
        if "{" in path and "404" not in responses:
            found.append(f"{where}: takes an id but does not document 404")
        own = OWN_STATUSES.get((method, path))
        if own and own not in responses:
            found.append(f"{where}: does not document {own}")
        if (method, path) not in ALWAYS_OPEN:
            if not op.get("security"):
                found.append(f"{where}: no API key security requirement")
            for status in ("401", "403"):
                if status not in responses:
                    found.append(f"{where}: does not document {status}")
        if not op.get("description"):
            found.append(f"{where}: no description (the route's docstring)")
    return found


def test_every_operation_documents_its_responses(document):
    """A schema for each 2xx, problem+json for each 4xx, 422 / 404 where they can happen."""
    checked = operations(document)
    print(f"{len(checked)} operations checked")
    assert len(checked) == EXPECTED_OPERATIONS
    assert problems_in(document) == []


def test_problem_schema_is_a_component(document):
    """problem_responses refer to a Problem schema that exists."""
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    assert "FieldProblem" in document["components"]["schemas"]


def test_file_routes_name_their_media_types(document):
    """File routes say what they send, as binary or text, and JSON files by their rows."""
    for path, method in (("/screenings/batch", "post"), ("/jobs/{job_id}/result", "get")):
        content = document["paths"][path][method]["responses"]["200"]["content"]
        assert set(content) >= {"application/json", "text/csv; charset=utf-8"}
        assert content["application/json"]["schema"]["items"]["$ref"].endswith("/BatchRow")
    pdf = document["paths"]["/screenings/{screening_id}/report.pdf"]["get"]
    assert pdf["responses"]["200"]["content"] == {
        "application/pdf": {"schema": {"type": "string", "format": "binary"}}
    }
    summary = document["paths"]["/summaries"]["get"]["responses"]["200"]["content"]
    assert {"application/json", "text/csv"} <= set(summary)


def test_the_check_catches_a_route_without_a_model(document):
    """A JSON 2xx whose schema is a bare object (a route returning a dict) is reported."""
    broken = {
        "paths": {
            "/x/{x_id}": {
                "get": {
                    "description": "An x.",
                    "parameters": [{"name": "x_id", "in": "path"}],
                    "responses": {
                        "200": {"content": {"application/json": {"schema": {"type": "object"}}}}
                    },
                }
            }
        }
    }
    assert problems_in(broken) == [
        "GET /x/{x_id} 200: JSON without a response model",
        "GET /x/{x_id}: takes input but does not document 422",
        "GET /x/{x_id}: takes an id but does not document 404",
        "GET /x/{x_id}: no API key security requirement",
        "GET /x/{x_id}: does not document 401",
        "GET /x/{x_id}: does not document 403",
    ]


def test_the_check_holds_ogc_routes_to_400_and_empty_tiles_to_no_body():
    """An OGC route documenting FastAPI's 422 and a 204 with a body are reported."""
    problem = {"content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    broken = {
        "paths": {
            "/ogc/things": {
                "get": {
                    "description": "Things.",
                    "parameters": [{"name": "f", "in": "query"}],
                    "responses": {"204": {"content": {"text/plain": {}}}, "422": problem},
                }
            }
        }
    }
    assert problems_in(broken) == [
        "GET /ogc/things 204: documents a body",
        "GET /ogc/things: takes input but does not document 400",
        "GET /ogc/things: documents 422, but OGC routes answer 400",
        "GET /ogc/things: no API key security requirement",
        "GET /ogc/things: does not document 401",
        "GET /ogc/things: does not document 403",
    ]


def test_validation_errors_are_problems_as_documented(client):
    """A 422 from request validation has the Problem shape, with the invalid fields."""
    resp = client.get("/screenings", params={"limit": 0})
    assert resp.status_code == 422
    assert resp.headers["content-type"] == PROBLEM
    body = resp.json()
    assert {"type", "title", "status", "detail", "errors"} <= set(body)
    assert body["errors"][0]["field"] == "query.limit"


# Routes that send documents as shaped (media types, headers, 10 000-feature pages) and the
# models that describe them in the OpenAPI: what they send must fit.
SHAPED = {
    "/ogc": "LandingPage",
    "/ogc/conformance": "Conformance",
    "/ogc/collections": "Collections",
    "/ogc/collections/township": "CollectionView",
    "/ogc/collections/township/queryables": "Queryables",
    "/ogc/collections/township/items?limit=5&filter=zone_type<>'x'": "FeatureCollection",
    "/ogc/collections/township/items?limit=1&offset=100000": "FeatureCollection",
    "/ogc/api": "ApiDocument",
    "/tiles/township.json": "TileJson",
    "/tiles/style.json": "MapStyle",
    "/layers/township/features?limit=3": "LayerFeatures",
}


@pytest.mark.parametrize(("url", "model"), SHAPED.items())
def test_shaped_documents_fit_their_models(client, reference, url, model):
    """Each document validates against the model its route declares, and misses none of it."""
    from app.api.models import features, ogc, tiles

    found = {**vars(ogc), **vars(tiles), **vars(features)}[model]
    body = client.get(url).json()
    parsed = found.model_validate(body)
    assert parsed.model_dump(mode="json", by_alias=True, exclude_none=True).keys() == body.keys()


def test_a_feature_fits_the_feature_model(client, reference):
    """One OGC feature, with its links, is a Feature."""
    from app.api.models.ogc import Feature

    first = client.get("/ogc/collections/township/items?limit=1").json()["features"][0]
    body = client.get(f"/ogc/collections/township/items/{first['id']}").json()
    assert Feature.model_validate(body).links


def test_ogc_documents_keep_their_media_types(document):
    """GeoJSON, JSON Schema and OpenAPI are documented under their own media types."""
    paths = document["paths"]
    ok = "200"
    items = paths["/ogc/collections/{collectionId}/items"]["get"]["responses"][ok]
    assert set(items["content"]) == {"application/geo+json"}
    assert "Content-Crs" in items["headers"]
    queryables = paths["/ogc/collections/{collectionId}/queryables"]["get"]["responses"][ok]
    assert set(queryables["content"]) == {"application/schema+json"}
    api = paths["/ogc/api"]["get"]["responses"][ok]
    assert set(api["content"]) == {"application/vnd.oai.openapi+json;version=3.0"}


def test_tiles_document_binary_empty_and_not_modified(document):
    """A tile is binary; an empty tile is a 204 without a body; a revalidated one a 304."""
    responses = document["paths"]["/tiles/{layer}/{z}/{x}/{y}.mvt"]["get"]["responses"]
    assert responses["200"]["content"] == {
        "application/vnd.mapbox-vector-tile": {"schema": {"type": "string", "format": "binary"}}
    }
    assert "content" not in responses["204"]
    assert "304" in responses


def test_the_ogc_api_document_has_no_dangling_refs(client, reference):
    """Every $ref in /ogc/api names a component of that document (GDAL resolves them)."""
    body = client.get("/ogc/api").json()
    refs: set[str] = set()

    def collect(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.add(node["$ref"])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(body["paths"])
    schemas = body["components"]["schemas"]
    assert refs
    assert {ref.rsplit("/", 1)[-1] for ref in refs} <= set(schemas)


def test_every_counted_operation_documents_the_429(client):
    # The rate limits count every route but /health: any of them may answer 429.
    for path, operations in client.get("/openapi.json").json()["paths"].items():
        for method, operation in operations.items():
            if path.startswith("/health"):
                continue
            too_many = operation["responses"].get("429")
            assert too_many, f"{method.upper()} {path} does not document 429"
            assert "Retry-After" in too_many["headers"]
            assert "application/problem+json" in too_many["content"]
