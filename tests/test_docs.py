"""Every ```python block of the README and of docs/*.md runs as written.

The blocks of one page run in order in one fresh interpreter (a page may build on its earlier blocks), from
a scratch directory, so a page cannot lean on the test process's state or leave files in the repository.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(page):
    return BLOCK.findall(page.read_text())


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p)], ids=lambda p: p.name)
def test_page_code_runs(page, tmp_path):
    blocks = python_blocks(page)
    script = "\n\n".join(f"# --- block {i + 1} of {page.name}\n{code}" for i, code in enumerate(blocks))
    path = tmp_path / f"{page.stem}_blocks.py"
    path.write_text(script)
    out = subprocess.run([sys.executable, str(path)], cwd=tmp_path, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, f"{page.name}: a code block failed\n{out.stderr[-3000:]}"


def test_readme_opens_with_the_two_commands():
    text = (ROOT / "README.md").read_text()
    first_block = re.search(r"^```bash\n(.*?)^```", text, re.S | re.M).group(1).splitlines()
    assert first_block[0] == 'pip install -e ".[test]" && python -m jaxlike demo'
    assert first_block[1] == 'pip install -e ".[test]" && python -m pytest -q'


def test_readme_example_output_is_what_the_code_prints(tmp_path):
    text = (ROOT / "README.md").read_text()
    code = python_blocks(ROOT / "README.md")[0]
    shown = re.search(r"^prints\n\n```\n(.*?)^```", text, re.S | re.M).group(1)
    path = tmp_path / "example.py"
    path.write_text(code)
    out = subprocess.run([sys.executable, str(path)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout == shown
