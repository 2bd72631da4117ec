"""Health, catalog listing and the problem format."""


def test_health_reports_database_and_postgis(client):
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["database"].startswith("PostgreSQL 1") and body["postgis"].startswith("3.")


def test_every_catalog_kind_is_listed_including_yaml_only_kinds(client):
    ids = {layer["id"] for layer in client.get("/layers").json()}
    assert {
        "admin_county",
        "township",
        "redline",
        "protected_area",
        "water_source",
        "control_unit",
        "river",
        "farmland",
        "urban_boundary",
    } <= ids
    # test_parcel exists only as tests/catalog_extra/test_parcel.yaml.
    assert "test_parcel" in ids


def test_layer_detail_has_schema_and_style(client):
    body = client.get("/layers/township").json()
    zone = next(a for a in body["attributes"] if a["name"] == "zone_type")
    assert zone["allowed"] == ["农产品主产区", "重点生态功能区", "城镇化地区"]
    assert body["style"]["fill_by"]["attribute"] == "zone_type"


def test_unknown_layer_is_problem_json(client):
    resp = client.get("/layers/nope/features")
    assert resp.status_code == 404
    assert resp.headers["content-type"] == "application/problem+json"


def test_openapi_docs_are_served(client):
    assert client.get("/docs").status_code == 200
    assert "/layers/{layer_id}/versions" in client.get("/openapi.json").json()["paths"]
