"""The board document: validation that names the panel and field, the YAML
round trip, and the substitution of variables and the board's time range."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from core.boards import (
    Board,
    InvalidBoard,
    board_from_yaml,
    board_to_yaml,
    parse_board,
    resolve_query,
    with_identity,
)
from core.errors import InvalidInput
from tests.factories import board_doc


def errors_of(doc: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(InvalidBoard) as info:
        parse_board(doc)
    assert isinstance(info.value, InvalidInput)
    return info.value.errors


def with_panel(**changes: Any) -> dict[str, Any]:
    doc = board_doc("b")
    doc["panels"][1] |= changes
    return doc


def test_a_valid_board_parses_with_its_fields() -> None:
    board = parse_board(board_doc("b"))
    assert board.uid == "b" and board.time.range == "6h" and board.refresh == "30s"
    assert [p.id for p in board.panels] == ["scans", "errors", "health"]
    assert board.panels[1].grid.w == 4 and board.panels[1].thresholds[0].color == "#e5534b"
    assert board.variable("source") is not None and board.variable("source").dimension == "source"  # type: ignore[union-attr]


def test_a_bad_metric_names_the_panel_its_title_and_the_field() -> None:
    doc = with_panel(query={"metric": "median", "type": "error"})
    [error] = errors_of(doc)
    assert error["field"] == 'panels[1] ("Errors by source").query.metric'
    assert "must be one of count, rate" in error["message"] and "'median'" in error["message"]
    with pytest.raises(InvalidBoard, match=r'^panels\[1\] \("Errors by source"\)\.query\.metric: must be one of'):
        parse_board(doc)


def test_a_type_error_inside_a_panel_names_the_panel() -> None:
    [error] = errors_of(with_panel(grid={"x": 0, "y": 0, "w": 13, "h": 4}))
    assert error["field"] == 'panels[1] ("Errors by source").grid.w'
    assert "less than or equal to 12" in error["message"]


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"kind": "chart"}, "kind", "timeseries"),
        ({"chart": "line", "kind": "stat"}, "chart", "only timeseries and breakdown"),
        ({"grid": {"x": 10, "y": 0, "w": 4, "h": 4}}, "grid.w", "x + w must be at most 12"),
        ({"grid": {"x": 0, "y": 0, "w": 4, "h": 41}}, "grid.h", "less than or equal to 40"),
        ({"row": 5}, "row", "no such row"),
        ({"link": "javascript:alert(1)"}, "link", "a path starting with /"),
        ({"query": {"colour": "red"}}, "query.colour", "not a query parameter"),
        ({"query": {"source": "$nope"}}, "query.source", "no variable named $nope"),
        ({"query": {"window": "forever"}}, "query.window", "expected a duration"),
        ({"query": {"group_by": "colour"}}, "query.group_by", "attrs.<key>"),
        ({"id": "scans"}, "id", "another panel has the id 'scans'"),
        ({"surprise": 1}, "surprise", "Extra inputs are not permitted"),
    ],
)
def test_each_bad_panel_field_is_named(changes: dict[str, Any], field: str, words: str) -> None:
    errors = errors_of(with_panel(**changes))
    assert {"field": f'panels[1] ("Errors by source").{field}', "message": errors[0]["message"]} == errors[0]
    assert words in errors[0]["message"]


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"uid": "Not A Slug"}, "uid", "should match pattern"),
        ({"schema": 3}, "schema", "1 or 2"),
        ({"time": {"range": "6h", "from": "2026-01-01T00:00:00Z"}}, "time", "not both"),
        ({"time": {"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"}}, "time.to", "after 'from'"),
        ({"time": {"range": "soon"}}, "time.range", "expected a duration"),
        ({"refresh": "1s"}, "refresh", "'off'"),
        ({"variables": [{"name": "x", "kind": "query"}]}, "variables[0].dimension", "names a dimension"),
        ({"variables": [{"name": "x", "kind": "custom"}]}, "variables[0].values", "lists its values"),
        ({"variables": [{"name": "bad name", "values": ["a"]}]}, "variables[0].name", "pattern"),
    ],
)
def test_each_bad_board_field_is_named(changes: dict[str, Any], field: str, words: str) -> None:
    doc = board_doc("b") | changes
    if "variables" in changes:
        for panel in doc["panels"]:
            panel["query"] = {k: v for k, v in panel.get("query", {}).items() if not v.startswith("$")}
    errors = errors_of(doc)
    assert errors[0]["field"] == field, errors
    assert words in errors[0]["message"]


def test_every_problem_is_listed_and_the_message_counts_the_rest() -> None:
    doc = board_doc("b")
    doc["panels"][0]["query"]["metric"] = "x"
    doc["panels"][2]["grid"]["h"] = 0
    with pytest.raises(InvalidBoard) as info:
        parse_board(doc)
    fields = [e["field"] for e in info.value.errors]
    assert fields == ['panels[2] ("Health").grid.h']  # shape errors first: the query is checked on a valid shape
    doc["panels"][2]["grid"]["h"] = 4
    doc["panels"][1]["chart"] = "bar"
    doc["panels"][2]["row"] = 9
    with pytest.raises(InvalidBoard) as info:
        parse_board(doc)
    assert [e["field"] for e in info.value.errors] == [
        'panels[0] ("Scans").query.metric',
        'panels[2] ("Health").row',
    ]
    assert str(info.value).endswith("(and 1 more)")


def test_yaml_round_trip_gives_the_same_text_and_board() -> None:
    board = parse_board(board_doc("b"))
    text = board_to_yaml(board)
    again = board_from_yaml(text)
    assert again == board
    assert board_to_yaml(again) == text
    assert text.startswith("schema: 1\nuid: b\ntitle: Device monitor\n")
    assert "from:" not in text and "schema_" not in text


def test_yaml_numbers_in_queries_and_ids_are_read_as_text() -> None:
    text = "uid: n\ntitle: N\npanels:\n- id: 1\n  title: Top\n  kind: table\n  query: {group_by: entity, top: 5}\n  grid: {x: 0, y: 0, w: 6, h: 6}\n"
    board = board_from_yaml(text)
    assert board.panels[0].id == "1" and board.panels[0].query == {"group_by": "entity", "top": "5"}
    assert board_from_yaml(board_to_yaml(board)) == board


def test_bad_yaml_names_the_line() -> None:
    with pytest.raises(InvalidBoard) as info:
        board_from_yaml("uid: x\ntitle: [unclosed\n")
    assert info.value.errors[0]["field"] == "(yaml)" and "line" in info.value.errors[0]["message"]
    with pytest.raises(InvalidBoard, match="a mapping"):
        board_from_yaml("- just\n- a list\n")


def test_yaml_does_not_build_python_objects() -> None:
    with pytest.raises(InvalidBoard) as info:
        board_from_yaml("uid: x\ntitle: !!python/object/apply:os.system ['true']\n")
    assert info.value.errors[0]["field"] == "(yaml)"


def test_resolve_substitutes_variables_and_the_board_range() -> None:
    board = parse_board(board_doc("b"))
    scans, errors, health = board.panels
    assert resolve_query(scans, board, {}) == {
        "metric": "count",
        "source": "scanner",
        "type": "scan",
        "bucket": "5min",
        "window": "6h",
    }
    assert resolve_query(scans, board, {"source": "gate-2,gate-3", "metric": "rate"})["source"] == "gate-2,gate-3"
    assert resolve_query(scans, board, {"metric": "rate"})["metric"] == "rate"
    # The panel keeps its own window; the page's range replaces the board's.
    assert resolve_query(errors, board, {})["window"] == "1h"
    assert resolve_query(scans, board, {}, time={"range": "7d"})["window"] == "7d"
    moved = resolve_query(scans, board, {}, time={"from": "2026-12-01T00:00:00Z", "to": "2026-12-01T06:00:00Z"})
    assert (moved["since"], moved["until"], "window" in moved) == (
        "2026-12-01T00:00:00Z",
        "2026-12-01T06:00:00Z",
        False,
    )
    assert resolve_query(health, board, {}) == {"window": "6h"}


def test_an_empty_variable_means_every_value() -> None:
    board = parse_board(board_doc("b"))
    assert "source" not in resolve_query(board.panels[0], board, {"source": ""})


def test_a_custom_variable_takes_only_its_values() -> None:
    board = parse_board(board_doc("b"))
    with pytest.raises(InvalidInput) as info:
        resolve_query(board.panels[0], board, {"metric": "p99"})
    assert info.value.field == "var.metric"


def test_panel_from_to_are_read_as_since_until() -> None:
    doc = with_panel(query={"from": "2026-12-01T00:00:00Z", "to": "2026-12-01T01:00:00Z", "type": "error"})
    board = parse_board(doc)
    assert resolve_query(board.panels[1], board, {}) == {
        "since": "2026-12-01T00:00:00Z",
        "until": "2026-12-01T01:00:00Z",
        "type": "error",
        "bucket": "none",
    }


def test_whole_range_kinds_default_to_one_row_per_group() -> None:
    board = parse_board(board_doc("b"))
    assert resolve_query(board.panels[1], board, {})["bucket"] == "none"  # a breakdown
    assert resolve_query(board.panels[0], board, {})["bucket"] == "5min"  # a time series keeps its own
    doc = with_panel(query={"type": "error", "bucket": "1h"})
    board = parse_board(doc)
    assert resolve_query(board.panels[1], board, {})["bucket"] == "1h"


def test_a_duplicate_has_its_own_uid_and_title_and_leaves_the_original() -> None:
    board = parse_board(board_doc("b"))
    original = copy.deepcopy(board.model_dump())
    dup = with_identity(board, uid="b-copy", title="Copy")
    assert (dup.uid, dup.title, dup.panels) == ("b-copy", "Copy", board.panels)
    assert board.model_dump() == original and isinstance(dup, Board)


def test_yaml_aliases_and_several_documents_are_refused() -> None:
    bomb = "uid: x\ntitle: t\nvariables:\n- &v {name: a, values: [a]}\n- *v\n"
    with pytest.raises(InvalidBoard) as info:
        board_from_yaml(bomb)
    assert info.value.errors == [
        {"field": "(yaml)", "message": "aliases (*name) are not accepted in a board, at line 5"}
    ]
    with pytest.raises(InvalidBoard, match="not valid YAML"):
        board_from_yaml("uid: a\ntitle: A\n---\nuid: b\ntitle: B\n")


def test_a_time_variable_left_empty_falls_back_to_the_board_range() -> None:
    doc = board_doc("b")
    doc["variables"].append({"name": "span", "kind": "custom", "values": ["1h", "6h"], "default": "1h"})
    doc["panels"][2]["query"] = {"window": "$span"}
    board = parse_board(doc)
    assert resolve_query(board.panels[2], board, {})["window"] == "1h"
    assert resolve_query(board.panels[2], board, {"span": ""})["window"] == "6h"  # the board's


def multi_board(**variable: Any) -> dict[str, Any]:
    doc = board_doc("b")
    doc["variables"][0] |= {"multi": True, "default": "scanner,gate"} | variable
    return doc


def test_a_multi_select_variable_fills_its_token_with_a_comma_list() -> None:
    board = parse_board(multi_board())
    scans = board.panels[0]
    assert resolve_query(scans, board, {})["source"] == "scanner,gate"
    assert resolve_query(scans, board, {"source": "a, b ,c"})["source"] == "a,b,c"
    assert "source" not in resolve_query(scans, board, {"source": ""})  # none chosen: all


def test_a_multi_custom_variable_checks_each_value() -> None:
    doc = board_doc("b")
    doc["variables"].append(
        {"name": "kinds", "multi": True, "values": ["scan", "door", "error"], "default": "scan,door"}
    )
    doc["panels"][0]["query"]["type"] = "$kinds"
    board = parse_board(doc)
    assert board.variable("kinds").chosen(None) == ["scan", "door"]  # type: ignore[union-attr]
    assert resolve_query(board.panels[0], board, {"kinds": "error,door"})["type"] == "error,door"
    with pytest.raises(InvalidInput, match=r"var\.kinds.*'fire'"):
        resolve_query(board.panels[0], board, {"kinds": "scan,fire"})
    doc["variables"][2]["default"] = "scan,fire"
    [error] = errors_of(doc)
    assert error["field"] == "variables[2].default" and "'fire'" in error["message"]
    doc["variables"][2] |= {"values": ["a,b", "c"], "default": "c"}
    [error] = errors_of(doc)
    assert error["field"] == "variables[2].values" and "comma" in error["message"]


def test_a_text_variable_takes_what_is_typed_and_is_never_multi() -> None:
    doc = board_doc("b")
    doc["variables"][0] = {"name": "source", "kind": "text", "label": "Source"}
    board = parse_board(doc)
    assert resolve_query(board.panels[0], board, {"source": "gate-9"})["source"] == "gate-9"
    assert "source" not in resolve_query(board.panels[0], board, {})
    doc["variables"][0] |= {"multi": True, "values": ["x"], "dimension": "source"}
    assert {e["field"] for e in errors_of(doc)} == {
        "variables[0].multi",
        "variables[0].values",
        "variables[0].dimension",
    }


def test_a_schema_1_file_is_written_back_as_schema_1_and_new_features_as_2() -> None:
    old = board_to_yaml(parse_board(board_doc("b")))
    assert old.startswith("schema: 1\n") and board_to_yaml(board_from_yaml(old)) == old
    new = board_to_yaml(parse_board(multi_board()))
    assert new.startswith("schema: 2\n") and "multi: true" in new
    assert board_to_yaml(board_from_yaml(new)) == new
