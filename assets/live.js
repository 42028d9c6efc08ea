/* Pulseboard's live feed in the browser.
 *
 * One WebSocket per tab carries frames of committed events. Frames are applied
 * here, directly: new events go to the feed list and to the live chart
 * (Plotly.extendTraces), the KPI cards count them, and nothing goes back to
 * the server. Events are de-duplicated by id; frames carry a sequence number,
 * and a gap (or a server "resync") asks for everything after the last id known
 * to be complete. When the socket closes, it reconnects with backoff and,
 * meanwhile, polls GET /api/events?after_id= so nothing is missed.
 *
 * Messages are handled in the socket's own onmessage rather than through a
 * Dash component property: a property is overwritten when frames arrive faster
 * than Dash renders, which lost frames in a 1,000-event burst.
 */
(function () {
  "use strict";
  var FEED_MAX = 100;
  var CHART_MAX = 5000;
  var POLL_MS = 1000;
  var SUCCESS = /^(ok|success|succeeded|completed|complete|online|healthy|up|done|passed|2\d\d)$/i;
  var FAILURE = /^(error|failed|failure|fail|timeout|timed_out|offline|down|critical|rejected|declined|[45]\d\d)$/i;

  var live = {
    socket: null,
    status: "connecting",
    ready: false,      // initial_data received on the current socket
    seen: new Set(),
    seenOrder: [],
    lastId: 0,         // highest id received
    safeId: 0,         // every event up to this id has been received
    seq: 0,            // last frame number
    received: 0,
    resyncs: 0,
    attempts: 0,
    reconnectTimer: null,
    pollTimer: null,
    pending: [],       // events waiting for the chart to exist
    topics: ["all"]
  };
  window.pulseboardLive = live;

  function outcome(status) {
    if (status === null || status === undefined) return "neutral";
    var s = String(status);
    if (SUCCESS.test(s)) return "success";
    if (FAILURE.test(s)) return "failure";
    return "neutral";
  }

  function fresh(events) {
    var out = [];
    (events || []).forEach(function (e) {
      if (e && typeof e.id === "number" && !live.seen.has(e.id)) {
        live.seen.add(e.id);
        live.seenOrder.push(e.id);
        if (live.seenOrder.length > 50000) live.seen.delete(live.seenOrder.shift());
        if (e.id > live.lastId) live.lastId = e.id;
        out.push(e);
      }
    });
    out.sort(function (a, b) { return a.id - b.id; });
    live.received += out.length;
    return out;
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);  // never innerHTML: event text is data
    return node;
  }

  function feedItem(e) {
    var kind = outcome(e.status);
    var colour = kind === "success" ? "success" : kind === "failure" ? "danger" : "secondary";
    var text = e.message || [e.entity, e.user, e.status].filter(function (x) { return x; }).join(" ");
    var li = el("li", "pb-feed-item pb-feed-" + kind);
    li.id = "feed-event-" + e.id;
    li.appendChild(el("span", "pb-feed-time", new Date(e.ts).toLocaleTimeString([], {hour12: false})));
    li.appendChild(el("span", "badge text-bg-" + colour + " me-2", e.type));
    li.appendChild(el("span", "text-body-secondary me-2 small", e.source));
    li.appendChild(el("span", "pb-feed-text", text));
    return li;
  }

  function addToFeed(events) {
    var list = document.getElementById("event-feed");
    if (!list || !events.length) return;
    var empty = list.querySelector(".pb-feed-empty");
    if (empty) empty.remove();
    for (var i = 0; i < events.length; i++) list.insertBefore(feedItem(events[i]), list.firstChild);
    while (list.children.length > FEED_MAX) list.removeChild(list.lastChild);
  }

  function chartDiv() {
    var holder = document.getElementById("live-chart");
    var gd = holder && holder.querySelector(".js-plotly-plot");
    return gd && gd.data && window.Plotly ? gd : null;
  }

  var CHART_EVERY_MS = 250;  // a redraw costs 40-100 ms: batch points instead of redrawing per frame

  function addToChart(events) {
    live.pending = live.pending.concat(events);
    if (live.chartTimer || !live.pending.length) return;
    live.chartTimer = setTimeout(flushChart, live.lastDraw && Date.now() - live.lastDraw < CHART_EVERY_MS ? CHART_EVERY_MS : 0);
  }

  function flushChart() {
    live.chartTimer = null;
    var gd = chartDiv();
    if (!gd || !live.pending.length) return;  // a cold page: plotted once plotly.js is ready (tick retries)
    live.lastDraw = Date.now();
    var batch = live.pending;
    live.pending = [];
    window.Plotly.extendTraces(gd, {
      x: [batch.map(function (e) { return e.ts; })],
      y: [batch.map(function (e) { return e.source; })],
      text: [batch.map(function (e) { return "#" + e.id + " " + e.type + (e.status ? " " + e.status : ""); })],
      "marker.color": [batch.map(function (e) {
        var k = outcome(e.status);
        return k === "success" ? "#2f9e44" : k === "failure" ? "#e03131" : "#3b6cf6";
      })]
    }, [0], CHART_MAX);
  }

  function bump(id, n) {
    var card = document.getElementById(id);
    if (!card || !n) return;
    var value = parseInt(card.textContent.replace(/[^0-9]/g, ""), 10) || 0;
    card.textContent = (value + n).toLocaleString("en-US");
  }

  /* Alerts and components that break are raised as toasts (bounded, dismissable).
   * An alert's toast links to the alert (/alerts?alert=<id>) and to the events
   * behind it (attrs.link). Links come from event data, so only paths on this
   * site are used, and all text is set with textContent. */
  var TOASTS_MAX = 5;
  var TOAST_MS = {alert: 30000, component: 10000};
  var TOAST_COLOURS = {resolved: "#2f9e44", info: "#1971c2"};

  function localPath(href) {
    return typeof href === "string" && href.length < 2000 && /^\/(?![\/\\])[^\s\\]*$/.test(href) ? href : null;
  }

  function attrsOf(e) {
    var a = e.attrs || e.context;
    if (typeof a === "string") { try { a = JSON.parse(a); } catch (err) { a = null; } }
    return a && typeof a === "object" ? a : {};
  }

  function link(cls, text, href) {
    var a = el("a", cls, text);
    a.href = href;
    return a;
  }

  function toast(e) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var isAlert = e.type === "alert";
    var level = isAlert ? String(e.status || "warning") : "error";
    var node = el("div", "pb-toast pb-toast-" + (level === "error" || level === "critical" ? "error" : "warning"));
    if (Object.prototype.hasOwnProperty.call(TOAST_COLOURS, level)) node.style.borderLeftColor = TOAST_COLOURS[level];
    node.id = "toast-" + e.id;
    node.setAttribute("role", "alert");
    var close = el("button", "btn-close float-end ms-2 pb-toast-close");
    close.type = "button";
    close.setAttribute("aria-label", "Dismiss");
    node.appendChild(close);
    if (isAlert) {
      var attrs = attrsOf(e);
      var alertId = parseInt(attrs.alert_id, 10);
      var events = localPath(attrs.link);
      var target = alertId > 0 ? "/alerts?alert=" + alertId : events;
      var title = (e.entity || "Alert") + (level === "resolved" ? " resolved" : " · " + level);
      node.appendChild(target ? link("fw-semibold d-block pb-toast-title", title, target) : el("div", "fw-semibold pb-toast-title", title));
      node.appendChild(target ? link("small d-block text-body pb-toast-body", e.message || "", target) : el("div", "small pb-toast-body", e.message || ""));
      if (events && events !== target) {
        node.appendChild(link("small pb-toast-events", events.indexOf("/executions") === 0 ? "runs →" : "events →", events));
      }
    } else {
      node.appendChild(el("div", "fw-semibold", e.entity + " is " + e.status));
      node.appendChild(el("div", "small", e.message || ""));
    }
    // A click on a link follows it; a click anywhere else dismisses the toast.
    node.onclick = function (ev) {
      if (ev.target && ev.target.closest && ev.target.closest("a")) return;
      node.remove();
    };
    box.insertBefore(node, box.firstChild);
    while (box.children.length > TOASTS_MAX) box.removeChild(box.lastChild);
    setTimeout(function () { node.remove(); }, TOAST_MS[isAlert ? "alert" : "component"]);
  }

  function apply(events, counted) {
    var add = fresh(events);
    if (!add.length) return add;
    if (counted) {
      add.forEach(function (e) {
        if (e.type === "alert" || (e.type === "component" && outcome(e.status) === "failure")) toast(e);
      });
    }
    // Pulseboard's own self-monitoring events belong to the System page, not the feed.
    var shown = add.filter(function (e) { return e.source !== "pulseboard"; });
    addToFeed(shown);
    addToChart(shown);
    if (counted) {
      bump("kpi-events-today", add.length);
      bump("kpi-events-last-hour", add.length);
    }
    return add;
  }

  function setStatus(status) {
    live.status = status;
    var badge = document.getElementById("live-status");
    if (badge) {
      badge.textContent = status;
      badge.className = "pb-live " + (status === "live" ? "pb-live-on" : "pb-live-off");
    }
  }

  function send(message) {
    if (live.socket && live.socket.readyState === 1) live.socket.send(JSON.stringify(message));
  }

  function onMessage(raw) {
    var data;
    try { data = JSON.parse(raw.data); } catch (err) { return; }
    if (data.type === "initial_data") {
      live.ready = true;
      live.seq = data.seq || 0;
      apply(data.events, false);
      live.safeId = Math.max(live.safeId, data.last_id || 0, live.lastId);
    } else if (data.type === "realtime_update") {
      var gap = data.seq !== live.seq + 1;
      live.seq = data.seq;
      apply(data.events, true);
      if (gap) {
        live.resyncs += 1;
        send({type: "request_update", after_id: live.safeId});
      } else {
        live.safeId = Math.max(live.safeId, data.last_id);
      }
    } else if (data.type === "error" && data.resync) {
      live.resyncs += 1;
      send({type: "request_update", after_id: live.safeId});
    }
  }

  function poll() {
    if (live.socket && live.socket.readyState === 1) return;
    fetch("/api/events?after_id=" + live.safeId + "&limit=1000")
      .then(function (r) { return r.ok ? r.json() : {events: []}; })
      .then(function (body) {
        var events = body.events || [];
        apply(events, true);
        events.forEach(function (e) { if (e.id > live.safeId) live.safeId = e.id; });
      })
      .catch(function () { setStatus(live.attempts > 6 ? "offline" : "reconnecting"); });
  }

  function connect() {
    live.reconnectTimer = null;
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
    var socket = new WebSocket(url);
    live.socket = socket;
    live.ready = false;
    socket.onopen = function () {
      live.attempts = 0;
      live.seq = 0;
      setStatus("live");
      var msg = {type: "subscribe", topics: live.topics};
      if (live.safeId > 0) msg.after_id = live.safeId;
      socket.send(JSON.stringify(msg));
    };
    socket.onmessage = onMessage;
    socket.onclose = function () {
      if (live.socket !== socket) return;
      live.ready = false;
      live.attempts += 1;
      setStatus(live.attempts > 6 ? "offline" : "reconnecting");
      var delay = Math.min(30000, 250 * Math.pow(2, live.attempts - 1));
      live.reconnectTimer = setTimeout(connect, delay);
    };
  }

  /* Called every second by a clientside callback on the page's Interval. */
  live.tick = function () {
    if (!live.socket) {
      connect();
      live.pollTimer = setInterval(poll, POLL_MS);
    }
    if (live.pending.length && !live.chartTimer) flushChart();
    setStatus(live.status);
    return live.status;
  };

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    pulse: {
      tick: function () { return live.tick(); }
    }
  });
})();
