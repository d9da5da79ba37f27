"""The database goes away and comes back: the portal answers 503 meanwhile, then recovers by itself."""

from __future__ import annotations

import os
import selectors
import socket
import threading
from urllib.parse import urlsplit, urlunsplit

import pytest

from portal import create_app
from portal.core.db import release
from tests.conftest import PG_URL


class TcpProxy:
    """A TCP relay to PostgreSQL that can be cut (every connection dropped, new ones refused) and restored."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            server = socket.create_connection(self.target)
            with self.lock:
                self.pairs.append((client, server))
            threading.Thread(target=self._relay, args=(client, server), daemon=True).start()

    @staticmethod
    def _relay(a: socket.socket, b: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        selector.register(a, selectors.EVENT_READ, b)
        selector.register(b, selectors.EVENT_READ, a)
        try:
            while True:
                for key, _ in selector.select():
                    data = key.fileobj.recv(65536)
                    if not data:
                        return
                    key.data.sendall(data)
        except OSError:
            return
        finally:
            a.close()
            b.close()

    def cut(self) -> None:
        self.up = False
        with self.lock:
            for a, b in self.pairs:
                for s in (a, b):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
            self.pairs.clear()

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.listener.close()
        self.cut()


@pytest.fixture
def outage(app_config, database_url, tmp_path):
    """(app, cut, restore) for the database this run uses."""
    if PG_URL:
        parts = urlsplit(database_url)
        proxy = TcpProxy((parts.hostname or "127.0.0.1", parts.port or 5432))
        netloc = f"{parts.username}@127.0.0.1:{proxy.port}" if parts.username else f"127.0.0.1:{proxy.port}"
        app = create_app(dict(app_config, DATABASE_URL=urlunsplit(parts._replace(netloc=netloc))))
        yield app, proxy.cut, proxy.restore
        proxy.close()
        return
    path = urlsplit(database_url).path
    folder = tmp_path / "live"
    folder.mkdir()
    moved = folder / "portal.db"
    os.replace(path, moved)
    app = create_app(dict(app_config, DATABASE_URL=f"sqlite:///{moved}"))
    away = tmp_path / "away"

    def cut() -> None:
        # A disk that goes away breaks the open connections too: the pool's are dropped with it
        # (a file merely moved would still be served through the connections kept open).
        os.replace(folder, away)
        with app.app_context():
            release()

    yield app, cut, lambda: os.replace(away, folder)


def test_the_portal_answers_503_while_the_database_is_gone_and_recovers_when_it_returns(outage):
    app, cut, restore = outage
    client = app.test_client()
    assert client.get("/healthz").status_code == 200

    cut()
    health = client.get("/healthz")
    assert health.status_code == 503 and health.get_json()["database"] == "unavailable"
    attempt = {"email": "hr@acme.nl", "password": "not-the-password"}
    page = client.post("/login", data=attempt, headers={"Accept-Language": "nl"})   # looks the account up
    text = page.get_data(as_text=True)
    assert page.status_code == 503 and "Tijdelijk niet beschikbaar" in text and "Traceback" not in text

    restore()
    assert client.get("/healthz").get_json() == {"status": "ok", "database": "ok"}
    again = client.post("/login", data=attempt, headers={"Accept-Language": "en"})
    assert again.status_code == 401 and "not correct" in again.get_data(as_text=True)  # an answer again
