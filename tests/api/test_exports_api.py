"""/api/exports: schedules CRUD, bad input answered 400 naming the field,
run now (the CSV file), the file list, downloads, and path traversal refused;
on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest

from tests.read_factories import HOUR, MIN, event, fixed_now, freeze, post_events, shared_server

NOW = fixed_now()
BASE = "/api/exports/schedules"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with shared_server(request, tmp_path_factory) as srv:
        post_events(
            srv,
            [
                event(NOW - 50 * MIN, "order", source="web", value=10),
                event(NOW - 40 * MIN, "order", source="web", value=20),
                event(NOW - 30 * MIN, "order", source="app", value=5, message="=1+1"),
                event(NOW - 2 * HOUR, "order", source="web", value=99),  # outside a 1 h window
            ],
        )
        freeze(srv, NOW)
        yield srv


def create(server: Any, **body: Any) -> dict[str, Any]:
    r = server.post(BASE, json={"query": "window=1h&type=order", "cron": "0 * * * *", **body})
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_a_schedule_is_created_read_listed_changed_and_deleted(server: Any) -> None:
    made = create(
        server, name="CRUD one", query="http://x/explore?window=6h&metric=sum&group_by=source&chart=bar", keep=4
    )
    assert made["slug"] == "crud-one" and made["query"] == {
        "window": "6h",
        "metric": "sum",
        "group_by": "source",
        "chart": "bar",
    }
    assert made["next_run_at"] == (NOW + HOUR).isoformat() and made["enabled"] is True and made["keep"] == 4
    assert server.get(f"{BASE}/{made['id']}").json() == made
    assert made["id"] in [s["id"] for s in server.get(BASE).json()["schedules"]]
    r = server.put(f"{BASE}/{made['id']}", json={"interval_seconds": 900, "name": "CRUD renamed"})
    assert r.status_code == 200, r.text
    changed = r.json()
    assert (changed["name"], changed["slug"], changed["cron"], changed["interval_seconds"]) == (
        "CRUD renamed",
        "crud-one",
        None,
        900,
    )
    assert changed["next_run_at"] == (NOW + 15 * MIN).isoformat()
    r = server.http.delete(server.url + f"{BASE}/{made['id']}", timeout=30)
    assert r.status_code == 200 and r.json() == {"deleted": made["id"], "files_removed": 0}
    assert server.get(f"{BASE}/{made['id']}").status_code == 404
    assert made["id"] not in [s["id"] for s in server.get(BASE).json()["schedules"]]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"name": "bad cron", "cron": "61 * * * *"}, "cron", "cron"),
        ({"name": "bad cron 2", "cron": "every day"}, "cron", "5 fields"),
        ({"name": "short", "cron": None, "interval_seconds": 30}, "interval_seconds", "60"),
        ({"name": "metric", "query": "window=1h&metric=median"}, "query", "parameter 'metric'"),
        ({"name": "window", "query": {"window": "forever"}}, "query", "parameter 'window'"),
        ({"name": "unknown", "query": "window=1h&colour=red"}, "query", "parameter 'colour'"),
        ({"name": "group", "query": "group_by=nope"}, "query", "parameter 'group_by'"),
        ({"name": "mode", "query": "mode=rows"}, "query", "parameter 'mode'"),
        ({"name": "both", "interval_seconds": 600}, "cron", "either"),
        ({"name": "none", "cron": None}, "cron", "either"),
        (
            {
                "name": "",
            },
            "name",
            "",
        ),
        ({"name": "keep", "keep": 0}, "keep", ""),
        ({"name": "extra", "owner": "me"}, "owner", ""),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_stores_nothing(
    server: Any, body: dict[str, Any], field: str, words: str
) -> None:
    before = server.get(BASE).json()["schedules"]
    r = server.post(BASE, json={"query": "window=1h", "cron": "0 * * * *", **body})
    assert r.status_code == 400, r.text
    assert f"field '{field}'" in r.json()["error"] and words in r.json()["error"]
    assert r.json()["errors"][0]["field"] == field
    assert server.get(BASE).json()["schedules"] == before


def test_a_bad_change_is_refused_and_the_schedule_kept(server: Any) -> None:
    made = create(server, name="kept as is")
    r = server.put(f"{BASE}/{made['id']}", json={"query": "metric=nope"})
    assert r.status_code == 400 and "field 'query'" in r.json()["error"]
    assert server.get(f"{BASE}/{made['id']}").json() == made
    assert server.put(f"{BASE}/999999", json={"keep": 2}).status_code == 404


def test_a_second_schedule_with_the_same_name_is_a_conflict(server: Any) -> None:
    create(server, name="twin")
    r = server.post(BASE, json={"name": "twin", "query": "window=1h", "cron": "@daily"})
    assert r.status_code == 409 and "field 'name'" in r.json()["error"]


def test_run_now_answers_the_csv_and_the_file_is_listed_and_downloadable(server: Any) -> None:
    made = create(server, name="Run now", query="window=1h&type=order&metric=sum&group_by=source&bucket=none")
    r = server.post(f"{BASE}/{made['id']}/run")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/csv") and r.headers["X-Export-Rows"] == "2"
    assert rows(r.text) == [["group", "value"], ["app", "5.0"], ["web", "30.0"]]
    stamp = NOW.strftime("%Y%m%dT%H%M%SZ")
    assert r.headers["X-Export-File"] == f"run-now/run-now-{stamp}.csv"
    files = server.get("/api/exports/files", params={"schedule": "run-now"}).json()["files"]
    assert files == [
        {
            "schedule": "run-now",
            "name": f"run-now-{stamp}.csv",
            "size": len(r.content),
            "created": NOW.isoformat(),
            "url": f"/api/exports/files/run-now/run-now-{stamp}.csv",
        }
    ]
    got = server.get(files[0]["url"])
    assert got.status_code == 200 and got.content == r.content
    assert f"filename=run-now-{stamp}.csv" in got.headers["Content-Disposition"]
    after = server.get(f"{BASE}/{made['id']}").json()
    assert (after["last_rows"], after["last_file"], after["last_run_at"], after["last_error"]) == (
        2,
        f"run-now-{stamp}.csv",
        NOW.isoformat(),
        None,
    )
    r = server.http.delete(server.url + f"{BASE}/{made['id']}", timeout=30)
    assert r.json()["files_removed"] == 1 and server.get(files[0]["url"]).status_code == 404


def test_an_export_with_top_keeps_the_largest_groups_and_the_rest_as_other(server: Any) -> None:
    made = create(server, name="top one", query="/explore?range=1h&type=order&metric=sum&group_by=source&top=1")
    r = server.post(f"{BASE}/{made['id']}/run")
    assert r.status_code == 200, r.text
    assert rows(r.text)[0] == ["bucket", "group", "value"]
    per_group: dict[str, float] = {}
    for _, group, value in rows(r.text)[1:]:
        per_group[group] = per_group.get(group, 0.0) + float(value)
    assert per_group == {"web": 10 + 20, "other": 5}  # app's 5 is the rest; the 99 is outside the hour
    r = server.post(BASE, json={"name": "bad top", "query": "group_by=source&top=0", "cron": "@daily"})
    assert r.status_code == 400 and "'top'" in r.json()["error"]


def test_run_now_of_a_raw_events_query_exports_the_rows_neutralised(server: Any) -> None:
    made = create(server, name="raw orders", query={"window": "1h", "type": "order", "mode": "events"})
    r = server.post(f"{BASE}/{made['id']}/run")
    assert r.status_code == 200 and r.headers["X-Export-Rows"] == "3"
    table = rows(r.text)
    assert table[0][:4] == ["id", "ts", "source", "type"]
    assert [(row[2], row[9], row[11]) for row in table[1:]] == [
        ("web", "10.0", ""),
        ("web", "20.0", ""),
        ("app", "5.0", "'=1+1"),
    ]


def test_unknown_schedules_answer_404(server: Any) -> None:
    assert server.get(f"{BASE}/999999").status_code == 404
    assert server.post(f"{BASE}/999999/run").status_code == 404
    r = server.http.delete(server.url + f"{BASE}/999999", timeout=30)
    assert r.status_code == 404 and "999999" in r.json()["error"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/exports/files/..%2F..%2Fpulse.db",
        "/api/exports/files/run/..%2F..%2Fpulse.db",
        "/api/exports/files/../pulse.db",
        "/api/exports/files/%2E%2E/pulse.db",
        "/api/exports/files/traversal/..",
        "/api/exports/files/traversal/%2E%2E%2F%2E%2E%2Fpulse.db",
        "/api/exports/files/traversal/traversal-20260101T000000Z.csv%00.db",
        "/api/exports/files/traversal/pulse.db",
    ],
)
def test_path_traversal_is_refused(server: Any, path: str) -> None:
    made = create(server, name="traversal")
    server.post(f"{BASE}/{made['id']}/run").raise_for_status()
    try:
        r = server.http.get(server.url + path, timeout=30)
        assert r.status_code == 404, (path, r.status_code)
        assert b"SQLite" not in r.content and r.json()["error"]
    finally:
        server.http.delete(server.url + f"{BASE}/{made['id']}", timeout=30)


def test_writes_need_the_api_key_when_keys_are_set(make_server_for: Any, sqlite_url: str) -> None:
    srv = make_server_for(sqlite_url, api_keys="k1")
    r = srv.post(BASE, json={"name": "locked", "query": "window=1h", "cron": "@daily"})
    assert r.status_code == 401
    auth = {"Authorization": "Bearer k1"}
    r = srv.post(BASE, json={"name": "locked", "query": "window=1h", "cron": "@daily"}, headers=auth)
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    assert srv.post(f"{BASE}/{sid}/run").status_code == 401
    assert srv.put(f"{BASE}/{sid}", json={"keep": 2}).status_code == 401
    assert srv.http.delete(srv.url + f"{BASE}/{sid}", timeout=30).status_code == 401
    assert srv.post(f"{BASE}/{sid}/run", headers=auth).status_code == 200
    assert [f["schedule"] for f in srv.get("/api/exports/files").json()["files"]] == ["locked"]  # reads stay open


def test_deleting_with_keep_files_keeps_them(server: Any) -> None:
    made = create(server, name="keep my files")
    server.post(f"{BASE}/{made['id']}/run").raise_for_status()
    r = server.http.delete(server.url + f"{BASE}/{made['id']}", params={"keep_files": "true"}, timeout=30)
    assert r.json() == {"deleted": made["id"], "files_removed": 0}
    assert [
        f["schedule"] for f in server.get("/api/exports/files", params={"schedule": "keep-my-files"}).json()["files"]
    ] == ["keep-my-files"]
    again = create(server, name="keep my files")  # a new schedule never adopts the old files
    assert again["slug"] == "keep-my-files-2"
