"""Two nodes on one PostgreSQL behind nginx behave as one installation: the
live feed of either node carries the events stored through both, once each,
a session signed in on one node is good on the other, and failed sign-ins
are counted once for both."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.cluster import Cluster
from tests.conftest import wait_until
from tests.scale.checks import events_reach_clients_of_both_nodes_once, metric

KEY = "cluster-key-1"
PASSWORD = "ada-cluster-pw"
SOURCE = "cluster-test"
BEARER = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def cluster(make_cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Cluster:
    keys = tmp_path_factory.mktemp("keys") / "api_keys"
    keys.write_text(KEY + "\n", encoding="utf-8")
    return make_cluster("--api-keys-file", str(keys), auth=True, users={"ada": PASSWORD}, key=KEY)  # type: ignore[no-any-return]


def test_events_posted_through_either_node_reach_clients_of_both_once(cluster: Cluster) -> None:
    events_reach_clients_of_both_nodes_once(cluster, SOURCE)


class SignInForm:
    """The sign-in form of one browser (its session and CSRF token), posted through nginx."""

    def __init__(self, cluster: Cluster) -> None:
        self.url = cluster.url
        self.http = requests.Session()
        self.http.headers["Origin"] = cluster.url
        form = self.http.get(cluster.url + "/login", timeout=30)
        self.token = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]

    def post(self, password: str) -> requests.Response:
        return self.http.post(
            self.url + "/login",
            data={"username": "ada", "password": password, "csrf_token": self.token},
            allow_redirects=False,
            timeout=30,
        )


def sign_in(cluster: Cluster) -> requests.Session:
    form = SignInForm(cluster)
    r = form.post(PASSWORD)
    assert r.status_code == 303, r.text[:500]
    return form.http


def test_a_session_signed_in_on_one_node_works_on_the_other(cluster: Cluster) -> None:
    http = sign_in(cluster)
    cookie = http.cookies.get("pulse_session")
    assert cookie
    # Asked of each node directly: both accept the cookie that the sign-in through nginx set.
    for node in cluster.nodes:
        r = requests.get(node.url + "/api/overview", cookies={"pulse_session": cookie}, timeout=30)
        assert r.status_code == 200 and "kpis" in r.json(), r.text[:300]
        anonymous = requests.get(node.url + "/api/overview", timeout=30)
        assert anonymous.status_code == 401 and "sign in" in anonymous.json()["error"]
    # Through nginx, writes by the signed-in admin alternate between the nodes and all are accepted.
    served = [
        metric(cluster, node, "pulseboard_http_requests_total", endpoint="/api/events", method="POST")
        for node in cluster.nodes
    ]
    for k in range(4):
        r = http.post(cluster.url + "/api/events", json={"type": "signed", "source": SOURCE, "value": k}, timeout=30)
        assert r.status_code in (200, 201) and len(r.json()["ids"]) == 1, r.text
    now = [
        metric(cluster, node, "pulseboard_http_requests_total", endpoint="/api/events", method="POST")
        for node in cluster.nodes
    ]
    assert [b - a for a, b in zip(served, now)] == [2.0, 2.0]


def test_server_sent_events_pass_through_nginx_as_they_are_written(cluster: Cluster) -> None:
    with requests.get(
        cluster.url + "/api/stream", params={"topics": f"source:{SOURCE}"}, headers=BEARER, stream=True, timeout=15
    ) as stream:
        assert stream.status_code == 200 and stream.headers["Content-Type"].startswith("text/event-stream")
        lines = stream.iter_lines(decode_unicode=True)
        posted: list[int] = []
        for k in range(2):  # one through each node; each small event must come through unbuffered
            r = cluster.post("/api/events", json=[{"type": "sse", "source": SOURCE, "value": k}], headers=BEARER)
            posted += r.json()["ids"]
            for line in lines:
                if line == f"id: {posted[-1]}":
                    break
            else:
                raise AssertionError("the stream ended before the event came")
        assert len(posted) == 2


def test_a_large_batch_passes_through_nginx_whole(cluster: Cluster) -> None:
    batch = [{"type": "big", "source": "cluster-bulk", "value": i, "message": "x" * 50} for i in range(3000)]
    r = cluster.post("/api/events", json=batch, headers=BEARER)  # ~250 kB: nginx buffers it in a file first
    assert r.status_code == 201, r.text[:300]
    assert len(r.json()["ids"]) == 3000


def test_failed_sign_ins_are_counted_once_for_both_nodes(cluster: Cluster) -> None:
    # Last in the module: this address's failures stay counted for the rest of their minute.
    form = SignInForm(cluster)
    seen = len(cluster.nginx.answers())
    statuses = [form.post("a-guess").status_code for _ in range(12)]
    # Ten failures in all, whichever node answered (a count per node would let 20 in).
    assert statuses == [401] * 10 + [429] * 2, statuses
    refused = form.post(PASSWORD)  # even the right password, until the window ends
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "Too many failed sign-ins; try again in " in refused.text
    logged = wait_until(
        lambda: len(got := [a for a in cluster.nginx.answers()[seen:] if a[2:] == ("POST", "/login")]) == 13 and got,
        message="the sign-ins in nginx's log",
    )
    for node in cluster.nodes:  # nginx took turns: each node refused some
        mine = [status for status, upstream, _m, _p in logged if upstream == f"127.0.0.1:{node.port}"]
        assert len(mine) in (6, 7) and 429 in mine and mine.count(401) == 5, logged
