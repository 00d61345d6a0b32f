"""The documentation stands alone: nothing cites a document a reader of the repository cannot open.

Code and docs once cited numbered sections and design rules of documents that lived outside the
repository, and a README named a path on one machine. The project's own reference is now `docs/`
(uem-api.md, itsm-hris.md, design.md); these tests keep it that way:

- no tracked file cites the outside documents or an absolute path of a machine;
- every relative link in README.md and docs/*.md points at a file that exists (and, for a `#fragment` into a
  markdown file, at a heading that exists);
- every "docs/<page>.md#fragment" and "docs/design.md rule N" cited anywhere in the tree resolves.

The forbidden phrases are assembled from pieces so that this file does not match itself.
"""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

_SECTION = "\u00a7"  # the section sign
_FORBIDDEN: dict[str, re.Pattern[str]] = {
    "a citation of the outside reference": re.compile(r"(?i)\bref(?:erence)?\.?\s*" + _SECTION),
    "a bare section-number citation": re.compile(_SECTION + r"\s*\d"),
    "a path into the outside reference folder": re.compile("shared" + "/reference"),
    "a citation of the outside design rules": re.compile(r"\bDESIGN" + r"(?:\.md)? rule"),
    "a citation of the outside design page": re.compile(r"\bDESIGN" + r"\.md\b"),
    "an absolute path of a machine": re.compile(r"(?<![\w.~-])/(?:work|root|home)/"),
}
_INLINE_LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE_DEF = re.compile(r"^\s{0,3}\[[^\]\n]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.MULTILINE)
_DOC_CITATION = re.compile(r"\bdocs/([\w.-]+\.md)(?:#([\w-]+))?")
# "docs/design.md rule 5", "[design.md](design.md) rules 4 and 11", "docs/design.md rules 1-3".
_RULE_CITATION = re.compile(r"\bdesign\.md\)?,? rules? (\d+(?:(?:, | and | or |\u2013|-)\d+)*)")
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.MULTILINE)
_RULE_ITEM = re.compile(r"^(\d+)\. \*\*", re.MULTILINE)


@cache
def tracked_files() -> tuple[Path, ...]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.decode()
    return tuple(ROOT / name for name in out.split("\0") if name)


def _text(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return None  # deleted in the working tree, or a submodule
    if b"\0" in data[:8192]:
        return None  # binary
    return data.decode("utf-8", errors="replace")


def _without_code(markdown: str) -> str:
    """Fenced blocks and inline code spans hold examples, not links."""
    no_fences = re.sub(r"^(```|~~~).*?^\1[^\n]*$", "", markdown, flags=re.MULTILINE | re.DOTALL)
    return re.sub(r"`[^`\n]*`", "", no_fences)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text, not its target
    text = text.replace("`", "").replace("*", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    text = _text(path) or ""
    seen: dict[str, int] = {}
    found: set[str] = set()
    for match in _HEADING.finditer(re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)):
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return frozenset(found)


def design_rules() -> set[int]:
    text = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
    rules = text.split("## Rules", 1)[1].split("\n## ", 1)[0]
    return {int(n) for n in _RULE_ITEM.findall(rules)}


def _markdown_link_targets(path: Path) -> list[str]:
    text = _without_code(_text(path) or "")
    return _INLINE_LINK.findall(text) + _REFERENCE_DEF.findall(text)


def _broken_link(source: Path, target: str) -> str | None:
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target):
        return None  # http:, https:, mailto: — outside the repository by design
    file_part, _, fragment = target.partition("#")
    resolved = (source.parent / file_part).resolve() if file_part else source
    if not resolved.exists():
        return f"{target}: no such file"
    if ROOT not in resolved.parents and resolved != ROOT:
        return f"{target}: points outside the repository"
    if fragment and resolved.suffix == ".md" and fragment not in anchors(resolved):
        return f"{target}: no heading with anchor #{fragment} in {resolved.relative_to(ROOT)}"
    return None


def test_no_tracked_file_cites_documents_outside_the_repository() -> None:
    offences = []
    for path in tracked_files():
        text = _text(path)
        if text is None:
            continue
        for lineno, line in enumerate(text.splitlines(), 1):
            for what, pattern in _FORBIDDEN.items():
                if pattern.search(line):
                    offences.append(f"{path.relative_to(ROOT)}:{lineno}: {what}: {line.strip()[:100]}")
    assert not offences, "cite docs/ instead:\n" + "\n".join(offences)


def _markdown_pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("page", _markdown_pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_of_readme_and_docs_resolve(page: Path) -> None:
    targets = _markdown_link_targets(page)
    if page.name == "README.md":
        assert targets, "README.md links to nothing: the link parser is broken"
    broken = [problem for t in targets if (problem := _broken_link(page, t))]
    assert not broken, f"broken links in {page.relative_to(ROOT)}:\n" + "\n".join(broken)


def test_the_own_reference_exists_and_is_linked_from_the_readme() -> None:
    readme = _markdown_link_targets(ROOT / "README.md")
    for name in ("uem-api.md", "itsm-hris.md", "design.md"):
        assert (ROOT / "docs" / name).is_file(), f"docs/{name} is missing"
        assert f"docs/{name}" in readme, f"README.md does not link docs/{name}"


def test_citations_of_docs_resolve_everywhere() -> None:
    """`docs/uem-api.md#paging` in a comment names a heading that exists; `docs/design.md rule N` a rule."""
    rules = design_rules()
    assert rules == set(range(1, max(rules) + 1)), f"design rules are not numbered 1..N: {sorted(rules)}"
    problems = []
    for path in tracked_files():
        text = _text(path)
        if text is None:
            continue
        for lineno, line in enumerate(text.splitlines(), 1):
            where = f"{path.relative_to(ROOT)}:{lineno}"
            for name, fragment in _DOC_CITATION.findall(line):
                page = ROOT / "docs" / name
                if not page.is_file():
                    problems.append(f"{where}: docs/{name} does not exist")
                elif fragment and fragment not in anchors(page):
                    problems.append(f"{where}: docs/{name} has no heading #{fragment}")
            for numbers in _RULE_CITATION.findall(line):
                for number in re.findall(r"\d+", numbers):
                    if int(number) not in rules:
                        problems.append(f"{where}: docs/design.md has no rule {number}")
    assert not problems, "\n".join(problems)


def test_slug_matches_github_anchors() -> None:
    # The anchors this repository's citations use; GitHub drops punctuation and keeps hyphens and underscores.
    assert slug("Prefect facts that shape the design") == "prefect-facts-that-shape-the-design"
    assert slug("Hosts, versions and headers") == "hosts-versions-and-headers"
    assert slug("`ws1ai.uem` — the client") == "ws1aiuem--the-client"
