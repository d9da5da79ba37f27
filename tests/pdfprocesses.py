"""Render HTML to PDF in separate Python processes while every core is busy (for byte-equality tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = """
import sys
from portal.core import pdf

if __name__ == "__main__":
    sys.stdout.buffer.write(pdf.render_pdf(open(sys.argv[1], encoding="utf-8").read()))
"""


def render_in_other_processes(html: str, folder: Path, count: int = 2) -> list[bytes]:
    """The PDF of `html` from `count` new processes (each with its own fork server), one after the
    other, while a busy loop runs on every core."""
    document = folder / "document.html"
    document.write_text(html, encoding="utf-8")
    child = folder / "render_child.py"
    child.write_text(CHILD, encoding="utf-8")
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 2)]
    try:
        return [subprocess.run([sys.executable, str(child), str(document)], cwd=ROOT, capture_output=True,
                               timeout=300, check=True).stdout for _ in range(count)]
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
