"""The README stays true: its settings table is the one the code prints."""

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
