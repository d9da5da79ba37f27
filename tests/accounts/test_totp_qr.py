"""The authenticator QR code on the leader's second step is whole: an SVG that scales by its
viewBox (no fixed pixel size that the stylesheet crops), and read back module by module it is
exactly the otpauth URI of the leader's key, quiet zone and all three finder patterns included."""

from __future__ import annotations

import re

import segno

from portal.accounts import service
from portal.accounts.models import User
from tests.conftest import PASSWORD

EN = {"Accept-Language": "en"}


def qr_svg(app, leader) -> str:
    client = app.test_client()
    response = client.post("/login", data={"email": leader.email, "password": PASSWORD, "next": ""})
    assert response.status_code == 302 and response.headers["Location"] == "/login/totp"
    page = client.get("/login/totp", headers=EN).get_data(as_text=True)
    found = re.search(r'<div class="qr">\s*(<svg\b.*?</svg>)', page, re.S)
    assert found, "the enrolment page shows an inline SVG QR code"
    return found.group(1)


def dark_modules(path: str) -> set[tuple[int, int]]:
    """The dark modules a segno path draws: 'M x y' / 'm dx dy' move, 'h n' draws n modules
    on the row the (half-module offset) line runs through."""
    x = y = 0.0
    dark: set[tuple[int, int]] = set()
    for command, args in re.findall(r"([MmHhVv])([^MmHhVv]*)", path):
        numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", args)]
        if command == "M":
            x, y = numbers
        elif command == "m":
            x, y = x + numbers[0], y + numbers[1]
        elif command == "h":
            for column in range(int(x), int(x + numbers[0])):
                dark.add((int(y), column))
            x += numbers[0]
        else:  # segno draws rows only; anything else would be a drawing this test cannot read
            raise AssertionError(f"unexpected path command {command}")
    return dark


def test_the_qr_code_scales_by_its_viewbox_and_has_no_fixed_size(app, leader):
    svg = qr_svg(app, leader)
    opening = svg.split(">", 1)[0]

    assert re.search(r'viewBox="0 0 (\d+) \1"', opening), opening
    # A width or height in pixels is what the stylesheet's 12rem cut off before.
    assert "width=" not in opening and "height=" not in opening
    assert "transform=" not in svg
    css = open(app.static_folder + "/portal.css", encoding="utf-8").read()
    rule = re.search(r"\.qr svg \{([^}]*)\}", css).group(1)
    width = re.search(r"width:\s*([\d.]+)rem", rule).group(1)
    height = re.search(r"height:\s*([\d.]+)rem", rule).group(1)
    assert width == height, "a square symbol drawn square"


def test_the_qr_code_reads_back_as_the_leaders_otpauth_uri_whole(app, leader):
    svg = qr_svg(app, leader)
    size = int(re.search(r'viewBox="0 0 (\d+) (\d+)"', svg).group(1))
    path = re.search(r'<path[^>]*\sd="([^"]+)"', svg).group(1)
    drawn = dark_modules(path)

    _secret, uri = service.totp_provisioning(User.get_by_id(leader.id))
    assert "secret=" in uri
    expected = segno.make(uri, error="m")
    border = (size - expected.symbol_size(scale=1, border=0)[0]) // 2
    assert border >= 4, "a quiet zone of at least four modules, inside the drawing"
    # Every dark module lies inside the viewBox: nothing is cropped.
    assert all(0 <= row < size and 0 <= column < size for row, column in drawn)
    wanted = {(row + border, column + border) for row, line in enumerate(expected.matrix)
              for column, module in enumerate(line) if module}
    assert drawn == wanted
    # The three finder patterns (7x7, dark ring) are there: top-left, top-right, bottom-left.
    modules = len(expected.matrix)
    for top, left in ((0, 0), (0, modules - 7), (modules - 7, 0)):
        ring = {(top + border + r, left + border + c) for r in range(7) for c in range(7)
                if r in (0, 6) or c in (0, 6)}
        assert ring <= drawn
