"""The client is standard library only, in the repo (``client``) and as the
folder ``pip install ./client`` ships (``pulseboard_client``)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

PROBE = """
import json, sys
sys.path.insert(0, sys.argv[2])
before = set(sys.modules)
import {pkg}, {pkg}.run, {pkg}.spool
m = {pkg}.Monitor("http://127.0.0.1:9", spool_path=sys.argv[1])
m.log_event("probe")
m.close(timeout=1)
loaded = {{name.split(".")[0] for name in set(sys.modules) - before}}
print(json.dumps(sorted(loaded - set(sys.stdlib_module_names) - {{"{pkg}"}})))
"""


def third_party_modules(cwd: Path, pkg: str, tmp_path: Path) -> list[str]:
    # -I: isolated (no site-packages, no user site, no PYTHON* variables); -S: no site module at all
    cmd = [sys.executable, "-I", "-S", "-c", PROBE.format(pkg=pkg), str(tmp_path / "spool.db"), str(cwd)]
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def test_the_client_imports_nothing_outside_the_standard_library(tmp_path: Path) -> None:
    assert third_party_modules(ROOT, "client", tmp_path) == []


def test_a_copy_of_the_folder_works_under_another_name(tmp_path: Path) -> None:
    shutil.copytree(
        ROOT / "client", tmp_path / "pkg" / "pulseboard_client", ignore=shutil.ignore_patterns("__pycache__")
    )
    assert third_party_modules(tmp_path / "pkg", "pulseboard_client", tmp_path) == []
