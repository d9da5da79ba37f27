"""Run every benchmark module (bench/bench_*.py, each with `run(report)`) and write results.md.

Figures are ratios measured in one run (e.g. a page's throughput divided by a bare Flask
endpoint's in the same server), so they compare across machines; absolute numbers are
printed for context only.
"""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
import platform
import sys
from pathlib import Path

HERE = Path(__file__).parent


class Report:
    def __init__(self) -> None:
        self.sections: list[tuple[str, list[str], list[list[str]], str]] = []

    def table(self, title: str, columns: list[str], rows: list[list], note: str = "") -> None:
        self.sections.append((title, columns, [[str(c) for c in row] for row in rows], note))
        print(f"\n## {title}")
        print(" | ".join(columns))
        for row in rows:
            print(" | ".join(str(c) for c in row))

    def markdown(self) -> str:
        lines = ["# Benchmark results", "",
                 f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, Python {platform.python_version()}.", ""]
        for title, columns, rows, note in self.sections:
            lines += [f"## {title}", ""]
            if note:
                lines += [note, ""]
            lines += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
            lines += ["| " + " | ".join(row) + " |" for row in rows]
            lines.append("")
        return "\n".join(lines)


def main(argv: list[str]) -> int:
    wanted = set(argv)
    report = Report()
    for module in sorted(pkgutil.iter_modules([str(HERE)]), key=lambda m: m.name):
        if not module.name.startswith("bench_"):
            continue
        if wanted and module.name.removeprefix("bench_") not in wanted:
            continue
        print(f"# running {module.name}", flush=True)
        importlib.import_module(f"bench.{module.name}").run(report)
    (HERE / "results.md").write_text(report.markdown(), encoding="utf-8")
    print(f"\nwritten to {HERE / 'results.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
