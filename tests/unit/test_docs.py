"""The documentation keeps up with the code: the settings table lists exactly
the declared settings, the README starts with the two commands, every command
of ``app.py`` and every route of the OpenAPI document is documented, and
every page is in the site's navigation."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import app
from settings import FIELDS

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README = ROOT / "README.md"


def docs_text(*names: str) -> str:
    paths = [DOCS / n for n in names] if names else sorted(DOCS.glob("*.md"))
    return "\n".join(p.read_text(encoding="utf-8") for p in paths)


# ------------------------------------------------------------------ settings


def settings_rows() -> list[list[str]]:
    """The cells of the table under '## Settings' in docs/configuration.md."""
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    section = text.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        if not line.startswith("|") or set(line) <= {"|", "-", " "}:
            continue
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if cells[0] == "flag":  # the header
            continue
        rows.append(cells)
    return rows


def test_the_settings_table_lists_exactly_the_declared_settings() -> None:
    rows = settings_rows()
    documented_flags = {m for row in rows for m in re.findall(r"`(--[a-z-]+)`", row[0])}
    declared_flags = {f.option for f in FIELDS if f.flag}
    assert documented_flags == declared_flags, "flags documented but not declared, or declared but not documented"
    documented_env = {re.findall(r"`(PULSE_[A-Z_]+)`", row[1])[0] for row in rows}
    assert documented_env == {f.env for f in FIELDS}
    assert len(rows) == len(FIELDS), "one row per setting"


@pytest.mark.parametrize("field", FIELDS, ids=lambda f: f.name)
def test_each_settings_row_names_its_flag_aliases_and_default(field: Any) -> None:
    (row,) = [r for r in settings_rows() if re.match(rf"`{field.env}`", r[1])]
    flag, env, default = row[0], row[1], row[2]
    assert flag == (f"`{field.option}`" if field.flag else "(none)")
    assert re.findall(r"`([A-Z_]+)`", env) == [field.env, *field.aliases]
    if isinstance(field.default, bool):
        assert default == ("on" if field.default else "off")
    elif field.default not in ("", None):
        value = field.default
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        assert default == f"`{value}`"


# -------------------------------------------------------------------- README


def test_the_readme_is_a_front_door_that_starts_with_make_run_and_make_test() -> None:
    text = README.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert len(lines) <= 200
    assert lines[0].startswith("# ")
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```", text, flags=re.S | re.M)
    assert blocks, "the README has no command block"
    first = blocks[0]
    assert "make run" in first and "make test" in first
    # ... and that block comes before any section.
    assert text.index("```") < text.index("\n## ")


def test_the_readme_links_to_docs_pages_that_exist() -> None:
    text = README.read_text(encoding="utf-8")
    links = re.findall(r"\]\((docs/[^)#\s]+)", text)
    assert len([link for link in links if link.endswith(".md")]) >= 10
    missing = [link for link in links if not (ROOT / link).exists()]
    assert missing == []


def test_every_docs_page_is_in_the_site_navigation() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))

    def pages(node: Any) -> set[str]:
        if isinstance(node, str):
            return {node}
        if isinstance(node, list):
            return set().union(*(pages(n) for n in node))
        if isinstance(node, dict):
            return set().union(*(pages(v) for v in node.values()))
        return set()

    in_nav = pages(config["nav"])
    on_disk = {p.name for p in DOCS.glob("*.md")}
    assert in_nav == on_disk


# ---------------------------------------------------------------- the CLI


def subcommands(argv: list[str], capsys: pytest.CaptureFixture[str]) -> list[str]:
    """The subcommands ``app.main(argv + ['--help'])`` offers, read from its usage line."""
    with pytest.raises(SystemExit):
        app.main([*argv, "--help"])
    usage = capsys.readouterr().out
    choices = re.search(r"\{([a-z,-]+)\}", usage)
    assert choices, usage
    return choices.group(1).split(",")


def test_every_command_of_app_py_is_documented(capsys: pytest.CaptureFixture[str]) -> None:
    commands = subcommands([], capsys)
    assert {"serve", "import", "export", "backup", "restore", "user"} <= set(commands)
    text = docs_text()
    undocumented = [c for c in commands if f"python app.py {c}" not in text]
    assert undocumented == []
    # The `user` command's own subcommands too (add, list, passwd, ...).
    actions = subcommands(["user"], capsys)
    assert "add" in actions
    user_lines = "\n".join(line for line in text.splitlines() if "python app.py user" in line)
    assert [a for a in actions if not re.search(rf"\b{a}\b", user_lines)] == []


# ------------------------------------------------------------------ routes


def normalise(path: str) -> str:
    """`/api/rules/{rule_id}` and `/api/rules/<id>` both become `/api/rules/<>`."""
    return re.sub(r"\{[^}]*\}|<[^>]*>", "<>", path)


def test_every_route_of_the_openapi_document_is_documented(sqlite_server: Any) -> None:
    r = sqlite_server.get("/api/openapi.json")
    assert r.status_code == 200
    paths = list(r.json()["paths"])
    assert len(paths) >= 40
    text = normalise(docs_text("api.md", "compatible.md"))
    undocumented = [
        path for path in paths if not re.search(rf"(?<![\w/.<>-]){re.escape(normalise(path))}(?![\w/.<>-])", text)
    ]
    assert undocumented == []


# ---------------------------------------------------------------- deployment


def test_the_deployment_page_shows_the_nginx_configuration_the_tests_run() -> None:
    from tests.cluster import site_conf

    page = docs_text("deployment.md")
    assert "```nginx\n" + site_conf("80", ["10.0.0.11:8050", "10.0.0.12:8050"]) + "```" in page
