"""The README and docs/ stay short, linked and true to the tree: every page linked, every link,
anchor, file path and ``python -m`` module they name exists, every setting documented."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from knowledge.settings import Settings

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
MAX_README_LINES = 200
MIN_DOCS_PAGES = 5
# Top-level folders whose contents are generated at run time, never part of the tree.
GENERATED = {"var", "models", "node_modules", ".venv"}

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
CODE_SPAN = re.compile(r"`([^`\n]+)`")
FENCE = re.compile(r"^[ \t]*```[^\n]*\n(.*?)^[ \t]*```", re.MULTILINE | re.DOTALL)
PATH_TOKEN = re.compile(r"[A-Za-z_.][\w.*{},-]*(?:/[\w.*{},-]+)+/?")
MODULE = re.compile(r"python -m ([A-Za-z_][\w.]*)")
DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
HEADING = re.compile(r"^#{1,6} (.+?)\s*$", re.MULTILINE)


def markdown_files() -> list[Path]:
    """The README and every docs page."""
    return [README, *sorted(DOCS.glob("*.md"))]


def without_fences(text: str) -> str:
    """The text with fenced code blocks removed (headings and links inside them do not count)."""
    return FENCE.sub("", text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]{2,}|`", "", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a markdown file, with GitHub's -1, -2 suffixes for repeats."""
    seen: dict[str, int] = {}
    result = set()
    for heading in HEADING.findall(without_fences(path.read_text(encoding="utf-8"))):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def expand_braces(token: str) -> list[str]:
    """``bot/data/{nlu,rules}/`` as ``bot/data/nlu/`` and ``bot/data/rules/`` (one level)."""
    match = re.search(r"\{([^{}]*)\}", token)
    if not match:
        return [token]
    return [
        token[: match.start()] + part + token[match.end() :] for part in match.group(1).split(",")
    ]


def named_paths(text: str) -> set[str]:
    """Repository paths named in code spans and code blocks (``a/b.py``, ``a/b/``, globs)."""
    chunks = CODE_SPAN.findall(without_fences(text)) + FENCE.findall(text)
    found = set()
    for chunk in chunks:
        for token in PATH_TOKEN.findall(chunk):
            token = token.split("::")[0].rstrip(".,")
            first = token.split("/")[0]
            if first in GENERATED or first in {".", ".."} or not (ROOT / first).exists():
                continue
            found.update(expand_braces(token))
    return found


def path_exists(token: str) -> bool:
    """Whether a named path (possibly a glob or a ``file.py:function``) exists in the tree."""
    token = re.sub(r"(\.\w+):\w+$", r"\1", token)
    if "*" in token:
        return any(ROOT.glob(token))
    return (ROOT / token).exists()


def is_ours(dotted: str) -> bool:
    """Whether a dotted name starts with one of the repository's Python folders."""
    first = ROOT / dotted.split(".")[0]
    return first.name not in GENERATED and first.is_dir() and any(first.glob("*.py"))


def module_exists(name: str) -> bool:
    """Whether ``python -m name`` can find ``name`` as a module or a runnable package."""
    base = ROOT.joinpath(*name.split("."))
    return base.with_suffix(".py").exists() or (base / "__main__.py").exists()


def module_file(parts: list[str]) -> Path | None:
    """The source file of a dotted module path (``a.b`` -> a/b.py or a/b/__init__.py)."""
    base = ROOT.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def dotted_name_exists(dotted: str) -> bool:
    """Whether ``pkg.module.Name`` names a module of ours and, after it, a name it defines."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        source = module_file(parts[:split])
        if source is None:
            continue
        rest = parts[split:]
        if not rest:
            return True
        name = re.escape(rest[0])
        defined = (
            rf"^(?:class|def|async def) {name}\b|^{name}\s*[:=]"
            rf"|^\s*(?:from \S+ )?import .*\b{name}\b"
        )
        return re.search(defined, source.read_text(encoding="utf-8"), re.MULTILINE) is not None
    return False


def named_dotted(text: str) -> set[str]:
    """Dotted names of our modules in code spans and blocks (``nlu.language_detector.X``)."""
    chunks = CODE_SPAN.findall(without_fences(text)) + FENCE.findall(text)
    found = set()
    for chunk in chunks:
        for token in DOTTED.findall(chunk):
            if is_ours(token) and not re.search(r"\.(py|md|yml|yaml|json|csv|js|css|html)$", token):
                found.add(token)
    return found


def test_readme_is_short() -> None:
    """The README stays an overview; the rest lives in docs/."""
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_README_LINES, f"README.md has {lines} lines; move detail into docs/"


def test_docs_pages_exist_and_start_with_a_title_and_summary() -> None:
    """At least five docs pages, each opening with a title and a summary paragraph."""
    pages = sorted(DOCS.glob("*.md"))
    assert len(pages) >= MIN_DOCS_PAGES, [p.name for p in pages]
    for page in pages:
        lines = page.read_text(encoding="utf-8").split("\n")
        assert lines[0].startswith("# "), f"{page.name} must start with a '# ' title"
        body = [line for line in lines[1:] if line.strip()]
        assert body and not body[0].startswith(("#", "|", "```", "!")), (
            f"{page.name}: a summary paragraph must follow the title"
        )


def test_readme_links_every_docs_page() -> None:
    """Every page in docs/, including ones added later, is linked from the README."""
    targets = {link.split("#")[0] for link in LINK.findall(README.read_text(encoding="utf-8"))}
    missing = [p.name for p in sorted(DOCS.glob("*.md")) if f"docs/{p.name}" not in targets]
    assert not missing, f"link these pages from README.md: {missing}"


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: p.name)
def test_relative_links_and_anchors_resolve(path: Path) -> None:
    """Every relative link points at a file that exists, and every #anchor at a heading."""
    broken = []
    for link in LINK.findall(without_fences(path.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z]+:", link):
            continue
        target, _, anchor = link.partition("#")
        file = (path.parent / target).resolve() if target else path
        stale_anchor = (
            file.exists() and bool(anchor) and file.suffix == ".md" and anchor not in anchors(file)
        )
        if not file.exists() or stale_anchor:
            broken.append(link)
    assert not broken, f"{path.name}: broken links {broken}"


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: p.name)
def test_named_paths_and_modules_exist(path: Path) -> None:
    """Every repository path, ``python -m`` module and dotted name of ours the page names exists."""
    text = path.read_text(encoding="utf-8")
    missing = sorted(t for t in named_paths(text) if not path_exists(t))
    modules = {m for m in MODULE.findall(text) if is_ours(m)}
    missing += sorted(f"python -m {m}" for m in modules if not module_exists(m))
    missing += sorted(d for d in named_dotted(text) if not dotted_name_exists(d))
    assert not missing, f"{path.name} names what does not exist: {missing}"


def test_every_setting_is_documented() -> None:
    """docs/configuration.md names the environment variable of every Settings field."""
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    prefix = Settings.Config.env_prefix
    missing = [
        f"{prefix}{name.upper()}"
        for name in Settings.__fields__
        if f"{prefix}{name.upper()}" not in text
    ]
    assert not missing, f"document these settings in docs/configuration.md: {missing}"


def test_the_checks_catch_what_they_should(tmp_path: Path) -> None:
    """The helpers find a moved module, a missing page link target and a stale anchor."""
    assert named_paths("see `knowledge/no_such_module.py` and `var/logs/x.log`") == {
        "knowledge/no_such_module.py"
    }
    assert not path_exists("knowledge/no_such_module.py")
    assert path_exists("knowledge/settings.py")
    assert not module_exists("knowledge.no_such_module")
    assert module_exists("benchmarks")
    assert dotted_name_exists("knowledge.settings.get_settings")
    assert not dotted_name_exists("knowledge.settings.no_such_name")
    assert named_dotted("`tracker.latest_message` and `knowledge.settings.Settings`") == {
        "knowledge.settings.Settings"
    }
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n## Demo traffic: `make demo`\n\n```\n# not a heading\n```\n")
    assert anchors(page) == {"title", "demo-traffic-make-demo"}
