"""The documentation names only variables that exist, and the README's configuration table names
every setting: a MEDIASHELF_* variable in README.md, CHANGELOG.md, docs/*.md or deploy/ is a
field of Settings, or is read by the SDK (the client's variables) or by the test harness (the
tests' own)."""

from __future__ import annotations

import re
from pathlib import Path

from mediashelf.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
NAME = re.compile(r"\bMEDIASHELF_[A-Z0-9_]*[A-Z0-9]\b")
SETTINGS = {f"{Settings.model_config.get('env_prefix', '')}{field}".upper()
            for field in Settings.model_fields}
# Where the variables that are not settings are read: the SDK's, the test harness's.
READERS = {"the SDK": ROOT / "sdk" / "src", "the test harness": ROOT / "tests" / "support"}


def _documents() -> list[Path]:
    docs = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md")),
            *sorted(p for p in (ROOT / "deploy").rglob("*") if p.is_file())]
    assert len(docs) > 3
    return docs


def _read_by(folder: Path, name: str) -> bool:
    """Whether some Python file under folder names the variable as a string."""
    return any(f'"{name}"' in p.read_text() or f"'{name}'" in p.read_text()
               for p in folder.rglob("*.py") if p.name != Path(__file__).name)


def _configuration_table() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in NAME.findall(row.split("|")[1])}


def test_every_documented_variable_exists() -> None:
    unknown = {}
    for doc in _documents():
        for name in set(NAME.findall(doc.read_text())) - SETTINGS:
            if not any(_read_by(folder, name) for folder in READERS.values()):
                unknown.setdefault(name, []).append(str(doc.relative_to(ROOT)))
    assert unknown == {}, f"named in the docs but read by nothing: {unknown}"


def test_the_configuration_table_names_every_setting_and_only_settings() -> None:
    table = _configuration_table()
    assert sorted(SETTINGS - table) == [], "settings missing from the README's table"
    assert sorted(table - SETTINGS) == [], "the README's table names what is not a setting"


def test_variables_are_spelled_in_full() -> None:
    """`_READ_TIMEOUT` after `MEDIASHELF_FETCH_CONNECT_TIMEOUT` cannot be searched for."""
    short = re.compile(r"`_[A-Z][A-Z0-9_]*`")
    found = {str(doc.relative_to(ROOT)): short.findall(doc.read_text()) for doc in _documents()}
    assert {doc: names for doc, names in found.items() if names} == {}
