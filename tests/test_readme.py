"""The README stays true: its settings table is the one the code prints."""

import os
import subprocess
from pathlib import Path

from click.testing import CliRunner

from portal.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_readme_settings_table_matches_the_code():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("<!-- settings-table:start -->\n", 1)[1].split("<!-- settings-table:end -->", 1)[0]
    printed = CliRunner().invoke(main, ["config"]).output
    assert table.strip() == printed.strip(), "run `portal config` and paste its table into the README"


def test_readme_opens_with_the_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```sh\n", 1)[1].split("```", 1)[0].splitlines()
    assert [line.split()[0:2] for line in first_block] == [["make", "run"], ["make", "test"]]


def run_recipe(**env) -> list[str]:
    """The commands `make run` would run (make -n prints them without running anything)."""
    environment = {k: v for k, v in os.environ.items() if k != "PORTAL_BASE_URL"} | env
    output = subprocess.run(["make", "-n", "run"], cwd=ROOT, env=environment, capture_output=True, text=True,
                            check=True).stdout
    return [line for line in output.splitlines()
            if "portal demo" in line or "portal worker" in line or "flask --app portal run" in line]


def test_make_run_points_links_at_the_port_it_serves():
    for line in run_recipe(PORT="8000"):
        assert "PORTAL_BASE_URL=http://127.0.0.1:8000 " in line, line
    assert "--port 8000" in run_recipe(PORT="8000")[-1]
    for line in run_recipe(PORT="8000", PORTAL_BASE_URL="https://portal.example.nl"):
        assert "PORTAL_BASE_URL=https://portal.example.nl " in line, line


def test_make_run_starts_one_worker_beside_the_portal_and_stops_it_with_the_portal():
    output = subprocess.run(["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    recipe = [line for line in output.splitlines() if "portal worker" in line or "flask --app portal run" in line
              or "trap " in line]
    assert sum("/portal worker" in line for line in recipe) == 1, recipe
    worker_line = next(line for line in recipe if "/portal worker" in line)
    assert "portal worker &" in worker_line, "the worker runs in the background while the portal serves"
    assert any("trap " in line and "kill" in line and "$worker" in line for line in recipe), recipe
    assert "flask --app portal run" in recipe[-1]
