"""The test suite's own hygiene: what one test leaves behind must not spoil the output of the next."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

# A CLI run under capsys (its log handler writes to capsys's stream, closed after the test), then an SMTP
# server whose INFO lines ("connection lost") would go to that closed stream.
TESTS = """
import smtplib

from service.cli import main
from tests.receivers import SmtpReceiver


def test_cli(capsys):
    assert main(["schema"]) == 0


def test_smtp():
    receiver = SmtpReceiver()
    smtplib.SMTP("127.0.0.1", receiver.port, timeout=10).quit()
    receiver.close()
"""


def test_log_lines_after_a_cli_test_do_not_hit_a_closed_stream(tmp_path: Path) -> None:
    """No "--- Logging error ---" (I/O operation on closed file) in a run's output after a CLI test."""
    (tmp_path / "test_inner.py").write_text(TESTS)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-c",
            str(ROOT / "pyproject.toml"),
            "-p",
            "tests.conftest",
            "-q",
            "-rP",
            "-p",
            "no:cacheprovider",
            str(tmp_path / "test_inner.py"),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "2 passed" in output, output
    assert "Logging error" not in output and "I/O operation on closed file" not in output, output


def _test_sources() -> list[Path]:
    return sorted(p for p in (ROOT / "tests").rglob("*.py") if "fixtures" not in p.parts)


def test_the_test_folders_mirror_the_service_packages() -> None:
    """tests/<package>/ for a package of service/ (tests/web/board/ for service/web/board/), then e2e and chaos."""
    folders = {p.parent.relative_to(ROOT / "tests") for p in (ROOT / "tests").rglob("__init__.py")} - {Path(".")}
    support = ("e2e", "chaos", "fakegitlab")  # fakegitlab: the one fake GitLab, a support package (no tests)
    strays = [str(f) for f in folders if f.parts[0] not in support and not (ROOT / "service" / f).is_dir()]
    assert not strays, f"test folders with no service package of that name: {strays}"


def test_no_test_module_imports_another() -> None:
    """What tests share lives in conftest.py (fixtures) or a support module (helpers), never in a test module."""
    found = []
    for path in _test_sources():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the importing module's package
                    parts = path.parent.relative_to(ROOT).parts
                    package = parts[: len(parts) - node.level + 1]
                    base = ".".join([*package, *([base] if base else [])])
                names = [base, *(f"{base}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            modules = [name for name in names if (ROOT / f"{name.replace('.', '/')}.py").is_file()]
            if any(name.rsplit(".", 1)[-1].startswith("test_") for name in modules):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, f"a test module imported from another test module: {found}"


def test_every_type_ignore_in_the_tests_names_its_error_and_why() -> None:
    """mypy checks the tests: an ignore is narrow (its error code) and says why, never a blanket one."""
    ignore = re.compile(r"# type: ignore(?P<code>\[[^\]]+\])?(?P<why>  # \S.*)?$")
    bare = []
    for path in _test_sources():
        for n, line in enumerate(path.read_text().splitlines(), 1):
            found = ignore.search(line)
            if found and not (found["code"] and found["why"]):
                bare.append(f"{path.relative_to(ROOT)}:{n}")
    assert not bare, f"type: ignore without an error code and a reason: {bare}"
