def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_login_page_renders_in_dutch_by_default(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert b'lang="nl"' in response.data
