"""The import rules of docs/architecture.md: no layer imports from one above it, no import circles.

Every product module's imports are read with ``ast`` (those inside functions and under
``TYPE_CHECKING`` too, since they are dependencies all the same). A module belongs to the unit
whose prefix names it most closely; it may import its own unit and the units of lower layers,
never a unit of its own layer (siblings stay independent) or of a higher one. The action server
(``actions/`` and everything it imports of ours) never imports ``rasa``, and ``knowledge/`` imports
neither ``rasa`` nor ``rasa_sdk``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Mapping, Sequence, Set, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT_ROOTS = ("knowledge", "nlu", "channels", "actions", "scale", "insight", "scripts")
# Generated migration scripts import only alembic and sqlalchemy; they are data, not modules.
SKIPPED_DIRS = ("knowledge/migrations/versions",)

# Bottom to top. Each layer is a list of units; a unit is a tuple of module prefixes.
LAYERS: Tuple[Tuple[Tuple[str, ...], ...], ...] = (
    # 0. What every part stands on: settings, the database schema, languages, intents, secrets.
    (
        (
            "knowledge",
            "knowledge.settings",
            "knowledge.db",
            "knowledge.models",
            "knowledge.migrate",
            "knowledge.migrations",
            "knowledge.language",
            "knowledge.intents",
            "knowledge.secret_files",
        ),
    ),
    # 1. The stores: shop, customer graph, hand-over records, the multilingual encoder.
    (("knowledge.shop",), ("knowledge.graph",), ("knowledge.handoff",), ("knowledge.encoder",)),
    # 2. What is computed over the stores: FAQ answers and their index, churn scoring.
    (("knowledge.faq",), ("knowledge.scoring",)),
    # 3. The contract between the Rasa server and the action server (no rasa, no rasa_sdk).
    (("nlu.output_keys", "nlu.routing", "nlu.chinese_script", "nlu.serving_load", "nlu"),),
    # 4. The bot at run time: Rasa components and policies, Rasa input channels, the action
    #    server, the scale-out plugins and process helpers.
    (("nlu.",), ("channels",), ("actions",), ("scale",)),
    # 5. The analytics pipeline: Rasa events -> tables -> measures, segments.
    (("insight.analytics", "insight"),),
    # 6. The web app: shop page and widget, agent console, supervisor dashboard.
    (("insight.web",),),
    # 7. Entry points and tools that start or drive the others.
    (("knowledge.__main__",), ("insight.__main__",), ("insight.demo",), ("scripts",)),
)
ACTION_SERVER_FORBIDDEN = ("rasa",)
KNOWLEDGE_FORBIDDEN = ("rasa", "rasa_sdk")
# Both servers import the contract modules, so they import neither server's framework.
CONTRACT_MODULES = ("nlu.output_keys", "nlu.routing", "nlu.chinese_script")


@dataclass(frozen=True)
class Unit:
    """One unit of the layering: its prefixes, its layer and a printable name."""

    prefixes: Tuple[str, ...]
    layer: int

    @property
    def name(self) -> str:
        """The unit's first prefix, as the rules name it."""
        return self.prefixes[0].rstrip(".")


@dataclass(frozen=True)
class Import:
    """One import statement's target module, where it was written."""

    module: str
    target: str
    line: int


UNITS = tuple(Unit(prefixes, layer) for layer, units in enumerate(LAYERS) for prefixes in units)


def unit_of(module: str, units: Sequence[Unit] = UNITS) -> Unit | None:
    """The unit whose prefix matches ``module`` most closely (``None`` when none does)."""
    best: Tuple[int, Unit] | None = None
    for unit in units:
        for prefix in unit.prefixes:
            if prefix.endswith("."):
                matches = module.startswith(prefix)
            else:
                matches = module == prefix or module.startswith(prefix + ".")
            if matches and (best is None or len(prefix) > best[0]):
                best = (len(prefix), unit)
    return best[1] if best else None


def module_name(path: Path, root: Path = ROOT) -> str:
    """Dotted module name of a source file under ``root``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def product_sources(root: Path = ROOT) -> Dict[str, Tuple[Path, str]]:
    """Every product module: dotted name -> (path, source)."""
    sources: Dict[str, Tuple[Path, str]] = {}
    for top in PRODUCT_ROOTS:
        for path in sorted((root / top).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            if relative.startswith(SKIPPED_DIRS):
                continue
            sources[module_name(path, root)] = (path, path.read_text(encoding="utf-8"))
    return sources


def imports_of(
    module: str, source: str, known: Set[str], is_package: bool = False
) -> Iterator[Import]:
    """Every module ``source`` imports, at any depth of the syntax tree.

    ``from package import name`` counts as an import of ``package.name`` when that is a module
    of ours; relative imports are resolved against ``module``'s package.
    """
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                yield Import(module, candidate if candidate in known else base, node.lineno)


def ours(target: str) -> bool:
    """Whether ``target`` is one of the product's modules (by its top-level package)."""
    return target.split(".")[0] in PRODUCT_ROOTS


def layer_violations(
    graph: Mapping[str, Sequence[Import]],
    paths: Mapping[str, str],
    units: Sequence[Unit] = UNITS,
) -> List[str]:
    """Imports from a sibling unit of the same layer or from a higher layer, one line each."""
    problems: List[str] = []
    for module, found in graph.items():
        source_unit = unit_of(module, units)
        if source_unit is None:
            problems.append(f"{paths[module]}: {module} belongs to no unit of the layering")
            continue
        for imp in found:
            if not ours(imp.target):
                continue
            target_unit = unit_of(imp.target, units)
            if target_unit is None or target_unit == source_unit:
                continue
            if target_unit.layer < source_unit.layer:
                continue
            where = "a higher layer" if target_unit.layer > source_unit.layer else "a sibling"
            problems.append(
                f"{paths[module]}:{imp.line}: {module} imports {imp.target} — {where}: "
                f"{source_unit.name} (layer {source_unit.layer}) may import only its own unit "
                f"and layers below {source_unit.layer}, not {target_unit.name} "
                f"(layer {target_unit.layer})"
            )
    return problems


def forbidden_imports(
    graph: Mapping[str, Sequence[Import]],
    paths: Mapping[str, str],
    start_prefix: str,
    forbidden: Sequence[str],
    transitive: bool,
) -> List[str]:
    """Imports of ``forbidden`` packages by modules under ``start_prefix`` (and, when
    ``transitive``, by every module of ours they import, directly or not)."""
    starts = [m for m in graph if m == start_prefix or m.startswith(start_prefix + ".")]
    reached: Dict[str, str] = {m: m for m in starts}
    queue = list(starts)
    while transitive and queue:
        current = queue.pop()
        for imp in graph.get(current, ()):
            if imp.target in graph and imp.target not in reached:
                reached[imp.target] = reached[current]
                queue.append(imp.target)
    problems = []
    for module, origin in sorted(reached.items()):
        for imp in graph[module]:
            top = imp.target.split(".")[0]
            if top in forbidden:
                via = "" if origin == module else f" (reached from {origin})"
                problems.append(
                    f"{paths[module]}:{imp.line}: {module} imports {imp.target}{via} — "
                    f"{start_prefix}/ may not use {', '.join(forbidden)}"
                )
    return problems


def circles(graph: Mapping[str, Sequence[Import]]) -> List[List[str]]:
    """Groups of product modules that import each other in a circle (Tarjan's algorithm)."""
    edges = {
        m: sorted({i.target for i in found if i.target in graph}) for m, found in graph.items()
    }
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    groups: List[List[str]] = []

    def visit(start: str) -> None:
        work = [(start, iter(edges[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1 or node in edges[node]:
                    groups.append(sorted(group))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    return groups


def circle_report(groups: Sequence[Sequence[str]], graph: Mapping[str, Sequence[Import]]) -> str:
    """Each circle with the import lines that close it."""
    lines = []
    for group in groups:
        members = set(group)
        links = [
            f"    {imp.module}:{imp.line} -> {imp.target}"
            for module in group
            for imp in graph[module]
            if imp.target in members
        ]
        lines.append("circle: " + ", ".join(group) + "\n" + "\n".join(links))
    return "\n".join(lines)


def build_graph(
    sources: Mapping[str, str],
    packages: Set[str] = frozenset(),  # type: ignore[assignment]
) -> Dict[str, List[Import]]:
    """Module -> its imports, for in-memory sources (``packages``: names that are packages)."""
    known = set(sources)
    return {
        module: list(dict.fromkeys(imports_of(module, text, known, module in packages)))
        for module, text in sources.items()
    }


@pytest.fixture(scope="module")
def product() -> Tuple[Dict[str, List[Import]], Dict[str, str]]:
    """The product's import graph and each module's path relative to the repository."""
    sources = product_sources()
    packages = {m for m, (path, _) in sources.items() if path.name == "__init__.py"}
    graph = build_graph({m: text for m, (_, text) in sources.items()}, packages)
    paths = {m: path.relative_to(ROOT).as_posix() for m, (path, _) in sources.items()}
    return graph, paths


def test_the_product_has_the_modules_the_rules_name(product):
    graph, _ = product
    for unit in UNITS:
        for prefix in unit.prefixes:
            name = prefix.rstrip(".")
            assert any(m == name or m.startswith(name + ".") for m in graph), prefix


def test_no_module_imports_from_a_sibling_or_a_higher_layer(product):
    graph, paths = product
    problems = layer_violations(graph, paths)
    assert not problems, "\n".join(problems)


def test_the_action_server_never_imports_rasa(product):
    graph, paths = product
    problems = forbidden_imports(graph, paths, "actions", ACTION_SERVER_FORBIDDEN, True)
    assert not problems, "\n".join(problems)


def test_knowledge_imports_neither_rasa_nor_rasa_sdk(product):
    graph, paths = product
    problems = forbidden_imports(graph, paths, "knowledge", KNOWLEDGE_FORBIDDEN, True)
    assert not problems, "\n".join(problems)


def test_the_contract_modules_import_neither_rasa_nor_rasa_sdk(product):
    graph, paths = product
    problems = [
        problem
        for module in CONTRACT_MODULES
        for problem in forbidden_imports(graph, paths, module, KNOWLEDGE_FORBIDDEN, True)
    ]
    assert not problems, "\n".join(problems)


def test_no_import_circles(product):
    graph, _ = product
    groups = circles(graph)
    assert not groups, circle_report(groups, graph)


# The checks themselves, on synthetic sources: each must fail where it should.


def test_an_upward_import_inside_a_function_is_named_with_its_line_and_rule():
    graph = build_graph(
        {
            "knowledge.shop.queries": "import logging\n\n\ndef f():\n"
            "    from insight.web.app import create_app\n",
            "insight.web.app": "from knowledge.shop.queries import f\n",
        }
    )
    paths = {"knowledge.shop.queries": "knowledge/shop/queries.py", "insight.web.app": "x.py"}
    problems = layer_violations(graph, paths)
    assert len(problems) == 1
    assert problems[0].startswith(
        "knowledge/shop/queries.py:5: knowledge.shop.queries imports insight.web.app — "
        "a higher layer: knowledge.shop (layer 1)"
    )
    assert "not insight.web (layer 6)" in problems[0]


def test_a_sibling_import_and_a_from_package_import_are_caught():
    sources = {
        "actions.escalation": "from nlu import handoff_policy\nfrom nlu import output_keys\n",
        "nlu.handoff_policy": "",
        "nlu.output_keys": "",
        "knowledge.faq.index": "from knowledge.shop import seed\n",
        "knowledge.shop.seed": "from knowledge.faq import index\n",
    }
    graph = build_graph(sources)
    problems = layer_violations(graph, {m: m for m in sources})
    assert len(problems) == 2
    assert "actions.escalation imports nlu.handoff_policy — a sibling" in problems[0]
    assert "knowledge.shop.seed imports knowledge.faq.index — a higher layer" in problems[1]


def test_rasa_reached_through_a_helper_of_the_action_server_is_caught():
    sources = {
        "actions.greet": "from knowledge.faq.index import x\n",
        "knowledge.faq.index": "def f():\n    import rasa.shared.core.domain\n",
        "nlu.classifier": "import rasa\n",
    }
    graph = build_graph(sources)
    problems = forbidden_imports(graph, {m: m for m in sources}, "actions", ("rasa",), True)
    assert problems == [
        "knowledge.faq.index:2: knowledge.faq.index imports rasa.shared.core.domain "
        "(reached from actions.greet) — actions/ may not use rasa"
    ]


def test_a_circle_through_a_function_level_import_is_caught():
    sources = {
        "insight.analytics.measures": "from insight.analytics import dataset\n\n\ndef registry():\n"
        "    from insight.analytics.at_risk import churn\n",
        "insight.analytics.at_risk": "from insight.analytics.measures import rnd\n",
        "insight.analytics.dataset": "",
    }
    graph = build_graph(sources)
    groups = circles(graph)
    assert groups == [["insight.analytics.at_risk", "insight.analytics.measures"]]
    report = circle_report(groups, graph)
    assert "insight.analytics.measures:5 -> insight.analytics.at_risk" in report
    assert "insight.analytics.at_risk:1 -> insight.analytics.measures" in report


def test_relative_imports_resolve_against_the_package():
    graph = build_graph(
        {
            "insight.web.console": "from . import views\nfrom ..keys import SETTINGS\n",
            "insight.web.console.views": "",
            "insight.web.keys": "",
        },
        packages={"insight.web.console"},
    )
    assert [i.target for i in graph["insight.web.console"]] == [
        "insight.web.console.views",
        "insight.web.keys",
    ]
