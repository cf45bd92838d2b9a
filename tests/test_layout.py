"""The package's layout: each subpackage imports only those below it (network and data at the
bottom, then explain, then pipeline), no module imports another's private names, and the public
paths of the README (sfcrepro.layers, sfcrepro.models, sfcrepro.torch) are the network's modules."""

import ast
import importlib

from conftest import ROOT

PACKAGE = ROOT / "src" / "sfcrepro"
RANK = {"network": 0, "data": 0, "explain": 1, "pipeline": 2}
PUBLIC = ("layers", "models", "torch")


def imports(path):
    """``(line, module, names)`` of every sfcrepro import in a file, inside functions too."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sfcrepro"):
            names = [alias.name for alias in node.names]
            if node.module in ("sfcrepro", *(f"sfcrepro.{s}" for s in RANK)):
                found += [(node.lineno, f"{node.module}.{name}", []) for name in names]
            else:
                found.append((node.lineno, node.module, names))
        elif isinstance(node, ast.Import):
            found += [
                (node.lineno, a.name, []) for a in node.names if a.name.startswith("sfcrepro")
            ]
    return found


def subpackage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in RANK else None


def test_every_module_is_in_a_subpackage_but_the_public_paths():
    top = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__"}
    assert top == set(PUBLIC)
    assert {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()} == set(RANK)


def test_subpackages_import_only_those_below_them():
    wrong = []
    for name, rank in RANK.items():
        for path in (PACKAGE / name).glob("*.py"):
            for line, module, _ in imports(path):
                other = subpackage(module)
                if other is None or (other != name and RANK[other] >= rank):
                    wrong.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert wrong == []


def test_no_private_name_is_imported_across_modules():
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}: {', '.join(private)}"
        for path in PACKAGE.rglob("*.py")
        for line, module, names in imports(path)
        if (private := [n for n in names if n.startswith("_")])
    ]
    assert wrong == []


def test_the_public_paths_are_the_network_modules():
    for name in PUBLIC:
        assert importlib.import_module(f"sfcrepro.{name}") is importlib.import_module(
            f"sfcrepro.network.{name}"
        )
