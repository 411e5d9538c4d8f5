"""Start-up: the command line imports no heavy library before a command runs.

``bryta --help`` builds every command, so every module of ``bryta.cli`` is imported; a module
that imports polars, numpy, scipy, duckdb, httpx, sqlalchemy or numba at its top makes every
command, and the help, wait for it (docs/performance.md, "Start-up"). The commands import
what they use inside their functions.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("polars", "numpy", "scipy", "duckdb", "httpx", "sqlalchemy", "numba")

# Heavy modules a module of the command line still imports, and which module does. Remove an
# entry once that module no longer imports it.
KNOWN: dict[str, str] = {}

# Run in a fresh interpreter: each heavy package's first import is recorded with the module of
# the command line whose top-level code (directly or through other bryta modules) asked for it.
# Every module of bryta.cli is imported, those known to import something heavy last, so that
# they hide no other.
_PROBE = """\
import importlib, json, pkgutil, sys

HEAVY = set(sys.argv[1].split(","))
LAST = set(sys.argv[2].split(","))
blame = {}


def importer():  # the module of the command line (else the bryta modules) importing
    chain = []
    frame = sys._getframe(2)
    while frame is not None:
        module = frame.f_globals.get("__name__") or ""
        if module.startswith("bryta") and (not chain or chain[-1] != module):
            chain.append(module)
        frame = frame.f_back
    cli = [m for m in chain if m.startswith("bryta.cli.")]
    return cli[0] if cli else " <- ".join(chain) or "?"


# The importer is recorded when a package is loaded, not when it is looked up (polars looks
# numpy up without importing it).
class Watch:
    def find_spec(self, name, path=None, target=None):
        if name not in HEAVY or name in blame:
            return None
        for finder in sys.meta_path:
            spec = None if finder is self else finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        load = spec.loader.exec_module

        def exec_module(module):
            blame.setdefault(name, importer())
            return load(module)

        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, Watch())
import bryta.cli._common

for info in pkgutil.iter_modules(bryta.cli.__path__, "bryta.cli."):
    if info.name not in LAST:
        importlib.import_module(info.name)
import bryta.cli
{extra}
print(json.dumps({"blame": blame, "loaded": sorted(HEAVY & set(sys.modules))}))
"""


def _probe(statement: str = "") -> dict[str, object]:
    code = _PROBE.replace("{extra}", statement)
    done = subprocess.run(
        [sys.executable, "-c", code, ",".join(HEAVY), ",".join(KNOWN.values())],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.splitlines()[-1])


def test_the_command_line_imports_no_heavy_library():
    found = _probe()
    blame = found["blame"]
    assert isinstance(blame, dict)
    assert sorted(blame) == found["loaded"]  # every heavy import was seen by the probe
    unexpected = {name: module for name, module in blame.items() if KNOWN.get(name) != module}
    assert not unexpected, (
        f"imported when bryta.cli is imported (by the module named): {unexpected}; "
        "import them inside the command function that uses them"
    )


def test_the_probe_names_the_module_that_imports():
    """The probe itself: a module of the command line whose top imports a bryta module that
    imports numpy is the one named."""
    module = "import bryta.compute.segregation.counts"
    found = _probe(f"exec({module!r}, {{'__name__': 'bryta.cli.example'}})")
    blame = found["blame"]
    assert isinstance(blame, dict)
    assert blame["numpy"] == "bryta.cli.example"
    assert set(blame.values()) == {"bryta.cli.example"}  # polars too, through counts


def test_help_defaults_copied_from_the_library_agree():
    """Defaults named in the help are copied into the command line (so that the help needs no
    heavy import); they must stay equal to the library's."""
    from bryta.cli import area_types, data, indicators
    from bryta.compute.conditions.area_types import OFFICIAL_CUTOFFS
    from bryta.compute.disclosure import DEFAULT_THRESHOLD
    from bryta.indicators import DOMAINS

    assert area_types.OFFICIAL_CUTOFFS == OFFICIAL_CUTOFFS
    assert data.DEFAULT_THRESHOLD == DEFAULT_THRESHOLD
    assert indicators.DOMAINS == DOMAINS
