"""The PDF renderer's fork server runs the program's main script once, not once per document.

multiprocessing runs a program's main script again in every child it starts (gunicorn's or
pytest's script: their imports, for every PDF) unless the fork server loaded it first, which
Python before 3.13.8 never does (CPython gh-126631); portal.core.pdf has the server load it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = """
import os
with open(os.environ["MARKS"], "a", encoding="utf-8") as marks:   # who ran this script, and as what
    marks.write(f"{os.getpid()} {__name__}\\n")

from portal.core import pdf

if __name__ == "__main__":
    for n in range(3):
        data = pdf.render_pdf(f"<p>Document {n}</p>")
        assert data.startswith(b"%PDF"), data[:40]
"""


def test_three_documents_run_the_main_script_once_in_the_fork_server_and_never_in_a_render(tmp_path):
    program, marks = tmp_path / "program.py", tmp_path / "marks.txt"
    program.write_text(PROGRAM, encoding="utf-8")
    subprocess.run([sys.executable, str(program)], cwd=ROOT, check=True, timeout=300, capture_output=True,
                   env={**os.environ, "MARKS": str(marks)})
    runs = [line.split() for line in marks.read_text(encoding="utf-8").splitlines()]
    assert sorted(name for _pid, name in runs) == ["__main__", "__mp_main__"]   # the program, the server
    assert len({pid for pid, _name in runs}) == 2
