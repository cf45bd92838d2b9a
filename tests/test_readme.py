"""The README's Python examples run as written."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_examples():
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples may write files such as model.keras
    exec(compile(BLOCKS[index], f"README.md python block {index}", "exec"), {})


def test_reliability_table_names_existing_tests():
    text = README.read_text()
    section = text.split("## Reliability", 1)[1].split("\n## ", 1)[0]
    named = re.findall(r"`(tests/test_\w+\.py)::(test_\w+)`", section)
    assert len(named) >= 25
    root = README.parent
    for path, name in named:
        assert re.search(rf"^def {name}\(", (root / path).read_text(), re.M), (
            f"{path}::{name} is not a test"
        )
