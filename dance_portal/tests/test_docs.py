"""The project's documents stand on their own: README shows only images that are in the repository, and code and
tests point to the project's own docs (README, SECURITY.md, docs/), not to files outside it or to issue numbers."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# An issue number, a section of the original specification, or the shared folder the project was started from.
OUTSIDE_REFERENCE = re.compile(r"\b[Ii]ssue #?\d+|\bSPEC(\.md)? ?§|\bBAD-INPUTS\b|/work/shared|\.\./shared")


def tracked_files(*patterns: str) -> list[str]:
    return subprocess.run(
        ["git", "ls-files", *patterns], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()


def outside_references(paths: list[str]) -> list[str]:
    found = []
    for path in paths:
        for number, line in enumerate((ROOT / path).read_text(encoding="utf-8").splitlines(), start=1):
            if OUTSIDE_REFERENCE.search(line):
                found.append(f"{path}:{number}: {line.strip()}")
    return found


def test_every_image_readme_shows_is_in_the_repository():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    images = re.findall(r'<img src="([^"]+)"|!\[[^\]]*\]\(([^)]+)\)', readme)
    paths = [html or markdown for html, markdown in images]

    assert paths
    assert [path for path in paths if path not in tracked_files(*paths)] == []


def test_code_and_docs_cite_the_projects_own_documents():
    files = tracked_files("*.py", "*.html", "*.txt", "*.js", "*.css", "*.md", "Makefile", "*.sh")
    files = [path for path in files if path != "dance_portal/tests/test_docs.py"]

    assert outside_references(files) == []


def test_the_check_catches_an_issue_number_and_a_path_outside(tmp_path, monkeypatch):
    monkeypatch.setattr("dance_portal.tests.test_docs.ROOT", tmp_path)
    (tmp_path / "a.py").write_text("# fixed in issue 12\n# see /work/shared/SPEC.md\n# tissue 3 is fine\n")

    assert outside_references(["a.py"]) == ["a.py:1: # fixed in issue 12", "a.py:2: # see /work/shared/SPEC.md"]
