"""The README and the pages of docs/: examples run as written, tables and links hold."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]


def python_blocks(path):
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


README_BLOCKS = python_blocks(README)
BLOCKS = [
    (path.relative_to(ROOT).as_posix(), index, block)
    for path in PAGES
    for index, block in enumerate(python_blocks(path))
]


def test_readme_has_examples():
    assert len(BLOCKS) >= 2
    # the README shows the SFC layer in a Keras model of your own
    assert any("SeparableFC(" in block and "keras.Model(" in block for block in README_BLOCKS)


@pytest.mark.parametrize(
    "page, index, block", BLOCKS, ids=[f"{page}-{index}" for page, index, _ in BLOCKS]
)
def test_readme_example_runs(page, index, block, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples may write files such as model.keras
    exec(compile(block, f"{page} python block {index}", "exec"), {})


def test_reliability_table_names_existing_tests():
    text = (ROOT / "docs/reliability.md").read_text()
    section = text.split("# Reliability", 1)[1].split("\n## ", 1)[0]
    named = re.findall(r"`(tests/test_\w+\.py)::(test_\w+)`", section)
    assert len(named) >= 25
    for path, name in named:
        assert re.search(rf"^def {name}\(", (ROOT / path).read_text(), re.M), (
            f"{path}::{name} is not a test"
        )


def test_readme_is_at_most_8_kb():
    size = len(README.read_bytes())
    assert size <= 8192, f"README.md has {size} bytes; move detail to a page of docs/"


def without_code(text):
    """Markdown text without fenced code blocks and inline code spans."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    text = re.sub(r"^(    |\t).*$", "", text, flags=re.M)  # indented code blocks
    return re.sub(r"`[^`\n]*`", "", text)


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path):
    seen = {}
    result = set()
    text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.S | re.M)
    for heading in re.findall(r"^#{1,6} (.+?)#*$", text, flags=re.M):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def links(path):
    """Every link and image target of a page, without titles."""
    targets = re.findall(
        r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", without_code(path.read_text())
    )
    targets += re.findall(r"^\[[^\]]+\]:\s*(\S+)", path.read_text(), flags=re.M)
    return targets


def relative_links(path):
    return [t for t in links(path) if not re.match(r"^[a-z][a-z0-9+.-]*:", t, flags=re.I)]


def test_readme_and_docs_links_resolve():
    assert len(PAGES) >= 8
    broken = []
    for page in PAGES:
        for target in relative_links(page):
            file, _, anchor = target.partition("#")
            dest = (page.parent / file).resolve() if file else page
            if not dest.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such file)")
            elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                broken.append(f"{page.relative_to(ROOT)}: {target} (no heading #{anchor})")
    assert not broken, "\n".join(broken)


def test_readme_links_every_docs_page():
    linked = {
        (ROOT / t.partition("#")[0]).resolve()
        for t in relative_links(README)
        if t.partition("#")[0]
    }
    missing = [p.name for p in PAGES[1:] if p.resolve() not in linked]
    assert not missing, f"README.md does not link {missing}"


def test_readme_and_docs_point_nowhere_outside_the_repository():
    outside = []
    for page in PAGES:
        for target in relative_links(page):
            dest = (page.parent / target.partition("#")[0]).resolve()
            if not dest.is_relative_to(ROOT):
                outside.append(f"{page.relative_to(ROOT)}: {target}")
        text = page.read_text()
        for mention in re.findall(r"\.\./shared\S*|/work/\S*", text):
            outside.append(f"{page.relative_to(ROOT)}: mentions {mention}")
    assert not outside, "\n".join(outside)


def test_slug_follows_github():
    assert slug("What `make reproduce` does") == "what-make-reproduce-does"
    assert slug("In vivo data: hematopoiesis accessibility") == (
        "in-vivo-data-hematopoiesis-accessibility"
    )
    assert (
        slug("Results (measured 2026-11-24, 2-core CPU)")
        == "results-measured-2026-11-24-2-core-cpu"
    )
