"""The docs site's extra pages (issue 12) take their text from the repository's own files when `make docs` builds them
(the Makefile copies docs/getting-started.md, playbooks/ and extensions/eda/rulebooks/ beside the pages): every page
listed exists, and every file a page includes exists where that copy puts it, with the marker the page cuts at."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
RST = ROOT / "docs" / "docsite" / "rst"
# Where each name a page includes comes from in the repository (the Makefile's copy).
SOURCES = {"getting-started.md.txt": ROOT / "docs" / "getting-started.md", "playbooks": ROOT / "playbooks",
           "rulebooks": ROOT / "extensions" / "eda" / "rulebooks"}
INCLUDE = re.compile(r"^\.\. (mdinclude|literalinclude):: (\S+)\n((?:   :[\w-]+:.*\n)*)", re.MULTILINE)


def source_of(name):
    head, _slash, rest = name.partition("/")
    return SOURCES[head] / rest if rest else SOURCES[head]


def test_every_listed_page_exists():
    sections = yaml.safe_load((ROOT / "docs" / "docsite" / "extra-docs.yml").read_text())["sections"]
    pages = [page for section in sections for page in section["toctree"]]
    assert pages and all((RST / f"{page}.rst").is_file() for page in pages), pages
    assert sorted(p.stem for p in RST.glob("*.rst")) == sorted(pages), "a page not in extra-docs.yml is never shown"


def test_every_included_file_is_a_repository_file_with_its_marker():
    included = []
    for page in RST.glob("*.rst"):
        for kind, name, options in INCLUDE.findall(page.read_text()):
            source = source_of(name)
            assert source.is_file(), f"{page.name} includes {name}, but {source} does not exist"
            end = re.search(r":end-before: (.+)", options)
            if end:
                assert end.group(1).strip() in source.read_text(), f"{page.name}: {name} lacks the marker {end.group(1)!r}"
            included.append((kind, source.relative_to(ROOT).as_posix()))
    names = {name for _kind, name in included}
    assert "docs/getting-started.md" in names and "extensions/eda/rulebooks/sync.yml" in names
    assert {p.relative_to(ROOT).as_posix() for p in (ROOT / "playbooks").glob("*.yml")} <= names, "every playbook has its section"
