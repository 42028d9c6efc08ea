"""The boards API on SQLite and PostgreSQL: CRUD in JSON and YAML, the YAML
export imported back unchanged, optimistic saves (409 when stale),
versions and restore, validation errors naming panel and field, stars,
share links, annotations, panel data answered as ``GET /api/query``
answers it, provisioned boards read-only, and who may change what."""

from __future__ import annotations

import concurrent.futures
import copy
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests
import yaml

from auth.passwords import hash_password
from core.boards import parse_board
from data import boards as store
from data.users import add_user
from tests.factories import BASE, board_doc, count, event, uid
from tests.factories import JSON as JSON_HEADERS

YAML = {"Content-Type": "application/yaml"}


@pytest.fixture(scope="module")
def api(shared_server: Any) -> Any:
    return shared_server


def create(server: Any, doc: dict[str, Any] | None = None, http: Any = None, **fields: Any) -> dict[str, Any]:
    doc = doc or board_doc(**fields)
    r = (http or server.http).post(server.url + "/api/boards", json=doc, timeout=30)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def test_a_created_board_is_answered_whole_and_listed(api: Any) -> None:
    doc = board_doc(tags=["crud", uid("tag")])
    made = create(api, doc)
    assert (made["uid"], made["version"], made["owner"], made["provisioned"]) == (doc["uid"], 1, None, False)
    assert made["board"] == parse_board(doc).model_dump(mode="json", by_alias=True, exclude_defaults=True) | {
        "schema": 1
    }
    got = api.get(f"/api/boards/{doc['uid']}")
    assert got.status_code == 200 and got.json()["board"]["panels"][1]["title"] == "Errors by source"
    assert got.json()["can_edit"] is True and got.json()["panels"] == 3
    listed = api.get("/api/boards", params={"tag": doc["tags"][1]}).json()["boards"]
    assert [b["uid"] for b in listed] == [doc["uid"]] and "board" not in listed[0]
    assert api.get("/api/boards/no-such-board").status_code == 404


def test_yaml_export_imports_back_as_the_identical_board(api: Any) -> None:
    made = create(api)
    board_uid = made["uid"]
    exported = api.get(f"/api/boards/{board_uid}", params={"format": "yaml"})
    assert exported.status_code == 200 and exported.headers["Content-Type"].startswith("application/yaml")
    assert yaml.safe_load(exported.text)["uid"] == board_uid
    assert api.http.delete(f"{api.url}/api/boards/{board_uid}", timeout=30).json() == {"deleted": board_uid}
    assert api.get(f"/api/boards/{board_uid}").status_code == 404
    imported = api.post("/api/boards", data=exported.text.encode(), headers=YAML)
    assert imported.status_code == 201, imported.text
    assert imported.json()["board"] == made["board"]
    assert api.get(f"/api/boards/{board_uid}", params={"format": "yaml"}).text == exported.text


def test_a_save_with_a_stale_version_answers_409_and_keeps_the_board(api: Any) -> None:
    made = create(api)
    path = f"/api/boards/{made['uid']}"
    first = api.put(path, json=made["board"] | {"title": "First edit", "version": 1})
    assert first.status_code == 200, first.text
    assert (first.json()["version"], first.json()["title"]) == (2, "First edit")
    stale = api.put(path, json=made["board"] | {"title": "Second edit", "version": 1})
    assert stale.status_code == 409
    assert stale.json()["errors"] == [{"field": "version", "message": "stale: the board is at version 2"}]
    assert "reload it" in stale.json()["error"]
    assert api.get(path).json()["title"] == "First edit"
    # The answer of GET, edited, is a body PUT takes too.
    current = api.get(path).json()
    current["board"]["title"] = "Third edit"
    assert api.put(path, json=current).json()["version"] == 3
    for version in (None, "3", 0, 2**63, True):
        bad = api.put(path, json=made["board"] | ({} if version is None else {"version": version}))
        assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "version", version


def test_of_two_saves_of_one_version_at_once_exactly_one_wins(api: Any) -> None:
    made = create(api)
    url = f"{api.url}/api/boards/{made['uid']}"
    barrier = threading.Barrier(2)

    def save(title: str) -> int:
        with requests.Session() as http:
            barrier.wait()
            return http.put(url, json=made["board"] | {"title": title, "version": 1}, timeout=30).status_code

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        statuses = sorted(pool.map(save, ["A", "B"]))
    assert statuses == [200, 409]
    got = api.get(f"/api/boards/{made['uid']}").json()
    assert got["version"] == 2 and got["title"] in ("A", "B")
    assert [v["version"] for v in api.get(f"/api/boards/{made['uid']}/versions").json()["versions"]] == [2, 1]


def test_versions_are_listed_and_a_restore_is_a_new_version(api: Any) -> None:
    made = create(api)
    path = f"/api/boards/{made['uid']}"
    api.put(path, json=made["board"] | {"title": "Changed", "version": 1}).raise_for_status()
    versions = api.get(path + "/versions").json()["versions"]
    assert [(v["version"], v["title"]) for v in versions] == [(2, "Changed"), (1, "Device monitor")]
    restored = api.post(path + "/versions/1/restore")
    assert restored.status_code == 200, restored.text
    assert (restored.json()["version"], restored.json()["board"]) == (3, made["board"])
    assert api.post(path + "/versions/9/restore").status_code == 404
    assert [v["version"] for v in api.get(path + "/versions").json()["versions"]] == [3, 2, 1]


@pytest.mark.parametrize("as_yaml", [False, True], ids=["json", "yaml"])
def test_a_bad_board_answers_400_naming_panel_and_field_and_stores_nothing(api: Any, as_yaml: bool) -> None:
    doc = board_doc()
    doc["panels"][1]["query"]["metric"] = "median"
    before = len(api.get("/api/boards").json()["boards"])
    if as_yaml:
        r = api.post("/api/boards", data=yaml.safe_dump(doc).encode(), headers=YAML)
    else:
        r = api.post("/api/boards", json=doc)
    assert r.status_code == 400
    body = r.json()
    assert body["errors"][0]["field"] == 'panels[1] ("Errors by source").query.metric'
    assert body["error"].startswith('panels[1] ("Errors by source").query.metric: must be one of count, rate')
    assert len(api.get("/api/boards").json()["boards"]) == before


def test_a_save_is_validated_too(api: Any) -> None:
    made = create(api)
    doc = copy.deepcopy(made["board"]) | {"version": 1}
    doc["panels"][0]["grid"] = {"x": 6, "y": 0, "w": 8, "h": 4}
    r = api.put(f"/api/boards/{made['uid']}", json=doc)
    assert r.status_code == 400
    assert r.json()["errors"] == [
        {"field": 'panels[0] ("Scans").grid.w', "message": "x + w must be at most 12, got 6 + 8"}
    ]
    renamed = api.put(f"/api/boards/{made['uid']}", json=made["board"] | {"uid": "other-uid", "version": 1})
    assert renamed.status_code == 400 and renamed.json()["errors"][0]["field"] == "uid"
    assert api.get(f"/api/boards/{made['uid']}").json()["version"] == 1


def test_bodies_that_are_not_a_board_answer_4xx_json(api: Any) -> None:
    bad_yaml = api.post("/api/boards", data=b"uid: x\ntitle: [open\n", headers=YAML)
    assert bad_yaml.status_code == 400 and "not valid YAML at line" in bad_yaml.json()["error"]
    listed = api.post("/api/boards", json=["not", "a", "board"])
    assert listed.status_code == 400 and listed.json()["errors"][0]["field"] == "(board)"
    text = api.post("/api/boards", data=b"uid=x", headers={"Content-Type": "text/plain"})
    assert text.status_code == 415 and "YAML" in text.json()["error"]
    huge = api.post("/api/boards", data=b"uid: x\ntitle: x\ndescription: " + b"x" * (1024 * 1024) + b"\n", headers=YAML)
    assert huge.status_code == 413 and "at most 1024 KB" in huge.json()["error"]
    taken = create(api)
    again = api.post("/api/boards", json=board_doc(taken["uid"]))
    assert again.status_code == 409 and again.json()["errors"] == [{"field": "uid", "message": "already taken"}]


def test_a_duplicate_gets_a_free_uid_or_the_one_given(api: Any) -> None:
    made = create(api)
    path = f"/api/boards/{made['uid']}/duplicate"
    first = api.post(path)
    assert first.status_code == 201, first.text
    assert (first.json()["uid"], first.json()["title"]) == (f"{made['uid']}-copy", "Device monitor (copy)")
    assert api.post(path).json()["uid"] == f"{made['uid']}-copy-2"
    named = api.post(path, json={"uid": uid("dup"), "title": "Mine"})
    assert named.status_code == 201 and named.json()["title"] == "Mine"
    assert named.json()["board"]["panels"] == made["board"]["panels"]
    bad = api.post(path, json={"uid": "Bad Uid"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "uid"


def test_stars_filter_the_list(api: Any) -> None:
    tag = uid("star")
    a, b = create(api, tags=[tag]), create(api, tags=[tag])
    assert api.post(f"/api/boards/{a['uid']}/star").json() == {"uid": a["uid"], "starred": True}
    listed = api.get("/api/boards", params={"tag": tag}).json()["boards"]
    assert {x["uid"]: x["starred"] for x in listed} == {a["uid"]: True, b["uid"]: False}
    starred = api.get("/api/boards", params={"tag": tag, "starred": "1"}).json()["boards"]
    assert [x["uid"] for x in starred] == [a["uid"]]
    assert api.get(f"/api/boards/{a['uid']}").json()["starred"] is True
    api.http.delete(f"{api.url}/api/boards/{a['uid']}/star", timeout=30).raise_for_status()
    assert api.get("/api/boards", params={"tag": tag, "starred": "1"}).json()["boards"] == []
    found = api.get("/api/boards", params={"q": b["uid"].upper()}).json()["boards"]
    assert [x["uid"] for x in found] == [b["uid"]]


def test_a_share_link_finds_the_board_until_revoked(api: Any) -> None:
    made = create(api)
    r = api.post(f"/api/boards/{made['uid']}/shares")
    assert r.status_code == 201, r.text
    share = r.json()
    token = share["token"]
    assert share["url"] == f"/boards/{made['uid']}?share={token}" and share["revoked_at"] is None
    with api.services.db.read() as conn:
        found = store.board_for_token(conn, token)
    assert found is not None and found.uid == made["uid"]
    listed = api.get(f"/api/boards/{made['uid']}/shares").json()["shares"]
    assert [s["token"] for s in listed] == [token]
    revoked = api.http.delete(f"{api.url}/api/boards/{made['uid']}/shares/{token}", timeout=30)
    assert revoked.json() == {"uid": made["uid"], "revoked": token}
    with api.services.db.read() as conn:
        assert store.board_for_token(conn, token) is None
    again = api.http.delete(f"{api.url}/api/boards/{made['uid']}/shares/{token}", timeout=30)
    assert again.status_code == 404
    assert api.get(f"/api/boards/{made['uid']}/shares").json()["shares"][0]["revoked_at"] is not None


def test_annotations_are_added_listed_by_range_and_deleted(api: Any) -> None:
    made = create(api)
    path = f"/api/boards/{made['uid']}/annotations"
    at = datetime(2026, 12, 1, 10, tzinfo=timezone.utc)
    r = api.post(path, json={"ts": at.isoformat(), "text": "deploy 1.2", "tags": ["deploy"]})
    assert r.status_code == 201, r.text
    note = r.json()
    assert (note["board"], note["ts"], note["text"], note["tags"]) == (
        made["uid"],
        at.isoformat(),
        "deploy 1.2",
        ["deploy"],
    )
    around = {"since": (at - timedelta(hours=1)).isoformat(), "until": (at + timedelta(hours=1)).isoformat()}
    listed = api.get(path, params=around).json()["annotations"]
    assert note["id"] in [n["id"] for n in listed]
    later = {"since": (at + timedelta(hours=2)).isoformat(), "until": (at + timedelta(hours=3)).isoformat()}
    assert note["id"] not in [n["id"] for n in api.get(path, params=later).json()["annotations"]]
    bad = api.post(path, json={"ts": at.isoformat(), "ts_end": (at - timedelta(1)).isoformat(), "text": "x"})
    assert bad.status_code == 400 and bad.json()["errors"] == [{"field": "ts_end", "message": "must not be before ts"}]
    empty = api.post(path, json={"ts": at.isoformat(), "text": ""})
    assert empty.status_code == 400 and empty.json()["errors"][0]["field"] == "text"
    assert api.http.delete(f"{api.url}/api/annotations/{note['id']}", timeout=30).json() == {"deleted": note["id"]}
    assert note["id"] not in [n["id"] for n in api.get(path, params=around).json()["annotations"]]
    assert api.http.delete(f"{api.url}/api/annotations/{note['id']}", timeout=30).status_code == 404


def test_panel_data_answers_what_api_query_answers_for_its_resolved_query(api: Any) -> None:
    source = uid("src")
    events = [event("scan", ts=BASE + timedelta(minutes=m), source=source) for m in range(0, 30, 3)]
    events += [event("scan", ts=BASE + timedelta(minutes=1), source=source + "-b")]
    api.post("/api/events", json=events).raise_for_status()
    time = {"from": BASE.isoformat(), "to": (BASE + timedelta(hours=1)).isoformat()}
    made = create(api, board_doc(time=time))
    path = f"/api/boards/{made['uid']}/panels/scans/data"
    r = api.get(path, params={"var.source": source, "var.metric": "count"})
    assert r.status_code == 200, r.text
    expected = api.get(
        "/api/query",
        params={
            "metric": "count",
            "source": source,
            "type": "scan",
            "bucket": "5min",
            "since": time["from"],
            "until": time["to"],
        },
    ).json()
    assert r.json() == expected
    assert sum(row["value"] for row in r.json()["rows"]) == 10
    both = api.get(path, params={"var.source": f"{source},{source}-b"}).json()
    assert sum(row["value"] for row in both["rows"]) == 11
    bad = api.get(path, params={"var.metric": "p99"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "var.metric"

    # A multi-select variable: the default and the values given are each matched (IN).
    doc = board_doc(time=time)
    doc["variables"][0] |= {"multi": True, "default": f"{source}-b,{source}-none"}
    multi = create(api, doc)
    mpath = f"/api/boards/{multi['uid']}/panels/scans/data"
    assert sum(row["value"] for row in api.get(mpath).json()["rows"]) == 1
    picked = api.get(mpath, params={"var.source": f"{source},{source}-b"}).json()
    assert sum(row["value"] for row in picked["rows"]) == 11
    assert api.get(f"/api/boards/{made['uid']}/panels/nope/data").status_code == 404
    moved = api.get(path, params={"var.source": source, "range": "forever"})
    assert moved.status_code == 400 and moved.json()["errors"][0]["field"] == "range"


def test_a_provisioned_board_is_read_only(api: Any) -> None:
    board = parse_board(board_doc())
    with api.services.db.write() as conn:
        store.provision_board(conn, board, source_file="ops.yaml", now=datetime.now(timezone.utc))
    path = f"/api/boards/{board.uid}"
    got = api.get(path).json()
    assert (got["provisioned"], got["source_file"], got["can_edit"]) == (True, "ops.yaml", False)
    expected = {"error": "provisioned from ops.yaml; edit the file"}
    put = api.put(path, json=got["board"] | {"title": "x", "version": 1})
    assert (put.status_code, put.json()) == (403, expected)
    delete = api.http.delete(api.url + path, timeout=30)
    assert (delete.status_code, delete.json()) == (403, expected)
    assert api.post(path + "/versions/1/restore").status_code == 403
    assert api.get(path).json()["title"] == "Device monitor"
    # What is not the document stays open: a copy, a star, a note.
    assert api.post(path + "/duplicate").json()["provisioned"] is False
    assert api.post(path + "/star").status_code == 200
    assert api.post(path + "/annotations", json={"ts": BASE.isoformat(), "text": "n"}).status_code == 201


# ------------------------------------------------------------ sign-in on

KEY = "boards-key"
PASSWORDS = {"ada": "ada-admin-pw", "vic": "vic-viewer-pw", "val": "val-viewer-pw"}


@pytest.fixture(scope="module")
def secured(make_shared_server: Any, module_db_url: str) -> Any:
    server = make_shared_server(module_db_url, auth=True, api_keys=KEY)
    for name, role in (("ada", "admin"), ("vic", "viewer"), ("val", "viewer")):
        with server.services.db.write() as conn:
            add_user(
                conn,
                username=name,
                password_hash=hash_password(PASSWORDS[name]),
                role=role,
                now=datetime.now(timezone.utc),
            )
    return server


def sign_in(server: Any, name: str) -> requests.Session:
    import re

    http = requests.Session()
    http.headers["Origin"] = server.url
    form = http.get(server.url + "/login", timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    data = {"username": name, "password": PASSWORDS[name], "csrf_token": token.group(1)}
    assert http.post(server.url + "/login", data=data, allow_redirects=False, timeout=30).status_code == 303
    return http


def test_the_owner_and_admins_change_a_board_and_other_viewers_only_read(secured: Any) -> None:
    vic, val, ada = (sign_in(secured, n) for n in ("vic", "val", "ada"))
    made = create(secured, http=vic)
    assert made["owner"] == "vic" and made["can_edit"] is True
    url = f"{secured.url}/api/boards/{made['uid']}"
    seen = val.get(url, timeout=30).json()
    assert seen["can_edit"] is False and seen["board"] == made["board"]
    refused = val.put(url, json=made["board"] | {"title": "val", "version": 1}, timeout=30)
    assert refused.status_code == 403
    assert refused.json() == {"error": f"only its owner (vic) or an admin may change board '{made['uid']}'"}
    assert val.delete(url, timeout=30).status_code == 403
    assert vic.put(url, json=made["board"] | {"title": "vic", "version": 1}, timeout=30).json()["version"] == 2
    assert ada.put(url, json=made["board"] | {"title": "ada", "version": 2}, timeout=30).json()["version"] == 3
    assert [v["author"] for v in vic.get(url + "/versions", timeout=30).json()["versions"]] == ["ada", "vic", "vic"]
    # Stars are each user's own.
    vic.post(url + "/star", timeout=30).raise_for_status()
    assert vic.get(url, timeout=30).json()["starred"] is True and val.get(url, timeout=30).json()["starred"] is False
    assert val.delete(url, timeout=30).status_code == 403 and vic.delete(url, timeout=30).status_code == 200


def test_share_links_are_for_admins(secured: Any) -> None:
    vic, ada = sign_in(secured, "vic"), sign_in(secured, "ada")
    made = create(secured, http=vic)
    url = f"{secured.url}/api/boards/{made['uid']}/shares"
    refused = vic.post(url, timeout=30)
    assert refused.status_code == 403 and refused.json() == {"error": "this needs the admin role; vic is a viewer"}
    assert vic.get(url, timeout=30).status_code == 403
    share = ada.post(url, timeout=30)
    assert share.status_code == 201 and share.json()["created_by"] == "ada"
    assert vic.delete(f"{url}/{share.json()['token']}", timeout=30).status_code == 403
    assert ada.delete(f"{url}/{share.json()['token']}", timeout=30).status_code == 200


def test_api_keys_read_boards_but_do_not_change_them(secured: Any) -> None:
    made = create(secured, http=sign_in(secured, "vic"))
    key = {"Authorization": f"Bearer {KEY}"}
    url = f"{secured.url}/api/boards/{made['uid']}"
    assert requests.get(url, headers=key, timeout=30).json()["uid"] == made["uid"]
    refused = requests.post(secured.url + "/api/boards", json=board_doc(), headers=key, timeout=30)
    assert refused.status_code == 403 and "signed-in user" in refused.json()["error"]
    assert requests.put(url, json=made["board"] | {"version": 1}, headers=key, timeout=30).status_code == 403
    assert requests.get(url, timeout=30).status_code == 401  # no session, no key


def test_notes_are_deleted_by_their_author_the_board_owner_or_an_admin(secured: Any) -> None:
    vic, val, ada = (sign_in(secured, n) for n in ("vic", "val", "ada"))
    made = create(secured, http=vic)
    url = f"{secured.url}/api/boards/{made['uid']}/annotations"
    # A viewer who does not own the board cannot annotate it; the owner can.
    assert val.post(url, json={"ts": BASE.isoformat(), "text": "val"}, timeout=30).status_code == 403
    note = vic.post(url, json={"ts": BASE.isoformat(), "text": "vic"}, timeout=30).json()
    everywhere = vic.post(url, json={"ts": BASE.isoformat(), "text": "all", "all_boards": True}, timeout=30)
    assert everywhere.status_code == 403
    shared = ada.post(url, json={"ts": BASE.isoformat(), "text": "all", "all_boards": True}, timeout=30).json()
    assert shared["board"] is None
    assert val.delete(f"{secured.url}/api/annotations/{note['id']}", timeout=30).status_code == 403
    assert vic.delete(f"{secured.url}/api/annotations/{shared['id']}", timeout=30).status_code == 403
    assert vic.delete(f"{secured.url}/api/annotations/{note['id']}", timeout=30).status_code == 200
    assert ada.delete(f"{secured.url}/api/annotations/{shared['id']}", timeout=30).status_code == 200


def test_nothing_is_written_by_a_refused_request(secured: Any) -> None:
    from data.models import BOARDS

    before = count(secured, BOARDS)
    r = requests.post(secured.url + "/api/boards", data=b"{}", headers=JSON_HEADERS, timeout=30)
    assert r.status_code == 401
    assert count(secured, BOARDS) == before
