"""The JSON API: every answer matches the published schema, and another front end can build
the whole site from it (pages, bodies, FAQ, menus, search, translations)."""

import jsonschema
import pytest


@pytest.fixture
def schema(client):
    response = client.get("/api/v1/schema.json")
    assert response.status_code == 200
    document = response.get_json()
    jsonschema.Draft202012Validator.check_schema(document)
    return document


def validate(schema, name, data):
    jsonschema.validate(data, {"$ref": f"#/$defs/{name}", "$defs": schema["$defs"]},
                        cls=jsonschema.Draft202012Validator)


def test_schema_names_a_shape_for_every_endpoint(schema):
    assert set(schema["x-endpoints"]) == {"/api/v1/pages", "/api/v1/pages/{slug}", "/api/v1/faq",
                                          "/api/v1/menus", "/api/v1/search", "errors"}


def test_the_schema_rejects_a_wrong_answer(schema, client):
    data = client.get("/api/v1/pages").get_json()
    data["items"][0]["surprise"] = 1
    with pytest.raises(jsonschema.ValidationError):
        validate(schema, "PageList", data)


def test_the_whole_site_can_be_built_from_the_api(client, schema):
    for lang in ("nl", "en"):
        listing = client.get(f"/api/v1/pages?lang={lang}&b_size=100").get_json()
        validate(schema, "PageList", listing)
        assert listing["items_total"] == 8
        for item in listing["items"]:
            assert item["lang"] == lang and item["fallback"] is False
            detail = client.get(item["@id"].removeprefix("http://portal.test")).get_json()
            validate(schema, "PageDetail", detail)
            assert detail["html"] and detail["title"] == item["title"]
            html = client.get(detail["path"]).get_data(as_text=True)
            assert detail["html"].strip()[:60] in html
        menus = client.get(f"/api/v1/menus?lang={lang}").get_json()
        validate(schema, "Menus", menus)
        assert len(menus["menus"]["main"]) == 5 and len(menus["menus"]["footer"]) == 3


def test_home_page_is_slug_index(client):
    data = client.get("/api/v1/pages/index?lang=en").get_json()
    assert data["path"] == "/en/" and data["title"].startswith("Professionals")
    assert {t["lang"] for t in data["translations"]} == {"nl", "en"}


def test_batching(client, schema):
    first = client.get("/api/v1/pages?lang=nl&b_size=3").get_json()
    validate(schema, "PageList", first)
    assert len(first["items"]) == 3 and first["items_total"] == 8
    assert first["batching"]["prev"] is None
    seen = [i["slug"] for i in first["items"]]
    url = first["batching"]["next"]
    while url:
        page = client.get(url.removeprefix("http://portal.test")).get_json()
        seen += [i["slug"] for i in page["items"]]
        url = page["batching"]["next"]
    assert len(seen) == len(set(seen)) == 8
    assert first["batching"]["last"].endswith("b_start=6&b_size=3")


@pytest.mark.parametrize("query", ["lang=de", "b_size=0", "b_size=101", "b_start=-1", "b_start=x"])
def test_bad_parameters_are_400_json(client, schema, query):
    response = client.get(f"/api/v1/pages?{query}")
    assert response.status_code == 400
    validate(schema, "ErrorBody", response.get_json())


def test_unknown_page_is_404_json(client, schema):
    response = client.get("/api/v1/pages/bestaat-niet")
    assert response.status_code == 404
    validate(schema, "ErrorBody", response.get_json())


def test_faq_by_category_with_stable_ids(client, schema):
    company = client.get("/api/v1/faq?lang=nl&category=company").get_json()
    validate(schema, "FaqList", company)
    assert {i["category"] for i in company["items"]} == {"company"}
    assert [i["id"] for i in company["items"]][:2] == ["ways-to-contribute", "employer-benefits"]
    english = client.get("/api/v1/faq?lang=en&category=company").get_json()
    assert [i["id"] for i in english["items"]] == [i["id"] for i in company["items"]]
    assert company["items"][0]["path"] == "/veelgestelde-vragen#ways-to-contribute"
    everything = client.get("/api/v1/faq?lang=nl&b_size=100").get_json()
    assert {i["category"] for i in everything["items"]} == {"ambassador", "school", "company"}
    assert [c["id"] for c in everything["categories"]] == ["ambassador", "school", "company"]
    assert client.get("/api/v1/faq?category=investors").status_code == 400


def test_english_fallback_is_marked(make_app, folder, schema):
    folder.basic()
    folder.write("nl/alleen.md", "title: Alleen NL\nsummary: S.\nslug: alleen-nl")
    client = make_app(folder).test_client()
    page = client.get("/api/v1/pages/alleen-nl?lang=en").get_json()
    validate(schema, "PageDetail", page)
    assert (page["lang"], page["requestedLang"], page["fallback"]) == ("nl", "en", True)
    listing = client.get("/api/v1/pages?lang=en").get_json()
    flagged = [i for i in listing["items"] if i["fallback"]]
    assert [i["slug"] for i in flagged] == ["alleen-nl"]


def test_search_json(client, schema):
    data = client.get("/api/v1/search?q=Coordinator&lang=nl").get_json()
    validate(schema, "SearchResults", data)
    assert data["items_total"] > 0
    assert any(i["type"] == "faq" and i["faqId"] == "coordinator-time" for i in data["items"])
    assert all("coördinator" in i["snippet"].lower() or "coordinat" in i["title"].lower() for i in data["items"])
    assert client.get("/api/v1/search?lang=nl").status_code == 400
    assert client.get("/api/v1/search?q=" + "x" * 201).status_code == 400


def test_cors_for_get_and_preflight(client):
    response = client.get("/api/v1/pages", headers={"Origin": "https://elsewhere.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in response.headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Credentials" not in response.headers
    preflight = client.options("/api/v1/pages", headers={
        "Origin": "https://elsewhere.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "If-None-Match"})
    assert preflight.status_code == 200
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]
    assert "If-None-Match" in preflight.headers["Access-Control-Allow-Headers"]
    assert client.post("/api/v1/pages").status_code in (400, 405)  # read-only
    assert "Access-Control-Allow-Origin" not in client.get("/voor-werkgevers").headers


def test_expired_page_is_410_in_the_api(make_app, folder, clock):
    folder.basic()
    folder.write("nl/weg.md", "title: Weg\nsummary: S.\nexpiryDate: 2026-01-01")
    assert make_app(folder).test_client().get("/api/v1/pages/weg").status_code == 410
