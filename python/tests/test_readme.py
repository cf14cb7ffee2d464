"""Every ```python block of the README's "Use it from Python (in process)" section runs as written,
in a fresh interpreter with the repository root as the working directory."""

import re
import subprocess
import sys

import pytest

from conftest import ROOT

SECTION = "## Use it from Python (in process)"


def blocks():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index(SECTION)
    end = readme.find("\n## ", start + len(SECTION))
    section = readme[start : end if end >= 0 else len(readme)]
    return re.findall(r"^```python\n(.*?)^```$", section, flags=re.S | re.M)


def test_the_section_has_python_examples():
    assert len(blocks()) >= 4


@pytest.mark.parametrize("index", range(len(blocks())))
def test_readme_python_block_runs(index):
    code = blocks()[index]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"README python block {index + 1} failed:\n{code}\n{done.stderr}"
    assert done.stdout.strip(), f"README python block {index + 1} printed nothing"
