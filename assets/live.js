/* Pulseboard's live feed: the clientside callbacks behind the overview's
 * dash-extensions WebSocket component (registered in callbacks/live.py).
 *
 * No socket is opened here: the component owns it. The KPI cards, the status
 * badge, the toasts and the socket's url and send change through callback
 * Outputs, the live chart through dash_clientside.set_props (extendData), and
 * the feed list as DOM nodes (see addToFeed); no Dash callback writes any of
 * them besides. The ids and limits come from the page's config store
 * (layouts/overview.py, ids from layouts/ids.py).
 *
 * The time bar holds the live chart still while it is paused or shows an
 * absolute range (its data-paused / data-follow): points are buffered (up to
 * chart_max) and drawn on resume. The feed and the counting cards go on.
 *
 * The component's `message` property keeps only the newest frame when frames
 * arrive faster than Dash runs the callback, so frames can be skipped. Frames
 * carry `seq`: on a gap (or a server "resync") the page asks for every event
 * after the last id known to be complete (`request_update` with `after_id`),
 * and events are de-duplicated by id, so a skipped frame costs a replay, not
 * an event.
 */
(function () {
  "use strict";
  var SUCCESS = /^(ok|success|succeeded|completed|complete|online|healthy|up|done|passed|2\d\d)$/i;
  var FAILURE = /^(error|failed|failure|fail|timeout|timed_out|offline|down|critical|rejected|declined|[45]\d\d)$/i;
  var TOAST_COLOURS = {resolved: "#2f9e44", info: "#1971c2"};

  // The page's live state, also read by the tests and bench/live.py.
  var live = {holder: null};
  window.pulseboardLive = live;

  function reset(holder) {
    live.holder = holder;      // the chart's element: a new one means the page was mounted again
    live.ready = false;        // initial_data received on the current socket
    live.open = false;
    live.everOpen = false;     // the socket has been open on this page
    live.seen = new Set();
    live.seenOrder = [];
    live.lastId = 0;           // highest id received
    live.safeId = 0;           // every event up to this id has been received
    live.startId = null;       // events after this one are new since the page opened (toasts)
    live.seq = 0;              // last frame number on the current socket
    live.received = 0;
    live.resyncs = 0;          // replays asked for after a gap or a resync
    live.recovering = null;    // time the pending request_update went out
    live.requests = [];        // request_update messages sent (after_id), newest last
    live.toasts = [];
    live.pending = [];         // chart points waiting for the next redraw
    live.held = false;         // the time bar holds the chart still (paused or a fixed range)
    live.chartTimer = null;
    live.lastDraw = 0;
    live.kpiBase = null;
    live.kpiAfter = 0;         // events received with an id above the KPI base's last id
    live.selfIds = new Set();  // ids of Pulseboard's own events: counted only when the base includes them
    live.attempts = 0;
    live.lastAttempt = 0;
    live.polling = false;
    live.nonce = 0;
    live.lastMessage = null;
    live.lastState = null;
    live.lastClick = null;
    live.lastBase = null;
  }
  reset(null);

  function nu() { return window.dash_clientside.no_update; }

  function chartHolder(cfg) { return document.getElementById(cfg.ids.chart); }

  /* The state belongs to one mounted overview: navigating away and back starts afresh. */
  function session(cfg) {
    var holder = chartHolder(cfg);
    if (holder && holder !== live.holder) reset(holder);
    return live;
  }

  /* plotly.js loads lazily: the socket opens only once the live chart is drawn,
   * so every pushed point can be plotted at once. */
  function chartReady(cfg) {
    var holder = chartHolder(cfg);
    var gd = holder && holder.querySelector(".js-plotly-plot");
    return !!(window.Plotly && gd && gd.data);
  }

  /* The time bar says the charts must not move: paused, or a fixed (zoomed) range. */
  function held(cfg) {
    var bar = cfg.ids.timebar && document.getElementById(cfg.ids.timebar);
    if (!bar) return false;
    return bar.getAttribute("data-paused") === "true" || bar.getAttribute("data-follow") === "false";
  }

  function outcome(status) {
    if (status === null || status === undefined) return "neutral";
    var s = String(status);
    if (SUCCESS.test(s)) return "success";
    if (FAILURE.test(s)) return "failure";
    return "neutral";
  }

  function h(type, props) {
    return {type: type, namespace: "dash_html_components", props: props};
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);  // never innerHTML: event text is data
    return node;
  }

  function feedItem(cfg, e) {
    var kind = outcome(e.status);
    var colour = kind === "success" ? "success" : kind === "failure" ? "danger" : "secondary";
    var text = e.message || [e.entity, e.user, e.status].filter(function (x) { return x; }).join(" ");
    var li = el("li", "pb-feed-item pb-feed-" + kind);
    li.id = cfg.ids.feed_item + e.id;
    li.appendChild(el("span", "pb-feed-time", new Date(e.ts).toLocaleTimeString([], {hour12: false})));
    li.appendChild(el("span", "badge text-bg-" + colour + " me-2", e.type));
    li.appendChild(el("span", "text-body-secondary me-2 small", e.source));
    li.appendChild(el("span", "pb-feed-text", text));
    return li;
  }

  /* The feed is this code's alone (no callback has it as an Output): items are
   * prepended as DOM nodes, because a Dash children update costs a layout
   * pass per frame - measured at hundreds of milliseconds on a busy machine
   * against about one for the nodes themselves. */
  function addToFeed(cfg, events) {
    var list = document.getElementById(cfg.ids.feed);
    if (!list || !events.length) return;
    var empty = list.querySelector(".pb-feed-empty");
    if (empty) empty.remove();
    for (var i = 0; i < events.length; i++) list.insertBefore(feedItem(cfg, events[i]), list.firstChild);
    while (list.children.length > cfg.feed_max) list.removeChild(list.lastChild);
  }

  function localPath(href) {
    return typeof href === "string" && href.length < 2000 && /^\/(?![\/\\])[^\s\\]*$/.test(href) ? href : null;
  }

  function attrsOf(e) {
    var a = e.attrs || e.context;
    if (typeof a === "string") { try { a = JSON.parse(a); } catch (err) { a = null; } }
    return a && typeof a === "object" ? a : {};
  }

  /* Alerts and components that break are raised as toasts (bounded, dismissed by
   * a click or after a while). An alert's toast links to the alert and to the
   * events behind it (attrs.link): links come from event data, so only paths on
   * this site are used. A click anywhere but on a link dismisses the toast: the
   * EventListener around the toasts reports the clicked element's data-toast,
   * which every part of a toast carries except its links. */
  function toastItem(cfg, t) {
    var e = t.event;
    var key = String(e.id);
    var mark = {"data-toast": key};
    var isAlert = e.type === "alert";
    var level = isAlert ? String(e.status || "warning") : "error";
    var root = {
      id: cfg.ids.toast + e.id,
      className: "pb-toast pb-toast-" + (level === "error" || level === "critical" ? "error" : "warning"),
      role: "alert",
      "data-toast": key
    };
    if (Object.prototype.hasOwnProperty.call(TOAST_COLOURS, level)) root.style = {borderLeftColor: TOAST_COLOURS[level]};
    var children = [h("Button", Object.assign({type: "button", className: "btn-close float-end ms-2 pb-toast-close", "aria-label": "Dismiss"}, mark))];
    if (isAlert) {
      var attrs = attrsOf(e);
      var alertId = parseInt(attrs.alert_id, 10);
      var events = localPath(attrs.link);
      var target = alertId > 0 ? "/alerts?alert=" + alertId : events;
      var title = String(e.entity || "Alert") + (level === "resolved" ? " resolved" : " · " + level);
      var message = String(e.message || "");
      children.push(target
        ? h("A", {className: "fw-semibold d-block pb-toast-title", href: target, children: title})
        : h("Div", Object.assign({className: "fw-semibold pb-toast-title", children: title}, mark)));
      children.push(target
        ? h("A", {className: "small d-block text-body pb-toast-body", href: target, children: message})
        : h("Div", Object.assign({className: "small pb-toast-body", children: message}, mark)));
      if (events && events !== target) {
        children.push(h("A", {className: "small pb-toast-events", href: events, children: events.indexOf("/executions") === 0 ? "runs →" : "events →"}));
      }
    } else {
      children.push(h("Div", Object.assign({className: "fw-semibold", children: String(e.entity) + " is " + String(e.status)}, mark)));
      children.push(h("Div", Object.assign({className: "small", children: String(e.message || "")}, mark)));
    }
    root.children = children;
    return h("Div", root);
  }

  function fresh(events) {
    var out = [];
    (events || []).forEach(function (e) {
      if (e && typeof e.id === "number" && !live.seen.has(e.id)) {
        live.seen.add(e.id);
        live.seenOrder.push(e.id);
        if (e.source === "pulseboard") live.selfIds.add(e.id);
        if (live.seenOrder.length > 50000) {
          var old = live.seenOrder.shift();
          live.seen.delete(old);
          live.selfIds.delete(old);
        }
        if (e.id > live.lastId) live.lastId = e.id;
        out.push(e);
      }
    });
    out.sort(function (a, b) { return a.id - b.id; });
    live.received += out.length;
    return out;
  }

  /* What changed, for the receive callback to render. */
  function apply(cfg, events, changed) {
    var add = fresh(events);
    if (!add.length) return;
    var base = live.kpiBase;
    var now = Date.now();
    add.forEach(function (e) {
      if (base && e.id > base.last_event_id && (base.include_self || e.source !== "pulseboard")) live.kpiAfter += 1;
      var isNew = live.startId !== null && e.id > live.startId;
      if (isNew && (e.type === "alert" || (e.type === "component" && outcome(e.status) === "failure"))) {
        live.toasts.unshift({event: e, expires: now + (cfg.toast_ms[e.type === "alert" ? "alert" : "component"] || 10000)});
        changed.toasts = true;
      }
    });
    live.toasts = live.toasts.slice(0, cfg.toasts_max);
    if (base) changed.kpis = true;
    // Pulseboard's own self-monitoring events belong to the System page, not the feed.
    var shown = add.filter(function (e) { return e.source !== "pulseboard"; });
    if (!shown.length) return;
    addToFeed(cfg, shown);
    live.pending = live.pending.concat(shown);
    scheduleChart(cfg);
  }

  /* A redraw costs tens of milliseconds, so points are batched: at most one
   * extendData every chart_every_ms, applied after the feed has been rendered. */
  function scheduleChart(cfg) {
    if (live.chartTimer || !live.pending.length) return;
    if (held(cfg)) {  // buffered for the resume; the oldest go first, as extendData would drop them
      live.held = true;
      if (live.pending.length > cfg.chart_max) live.pending = live.pending.slice(-cfg.chart_max);
      return;
    }
    live.held = false;
    var wait = Math.max(0, live.lastDraw + cfg.chart_every_ms - Date.now());
    live.chartTimer = setTimeout(function () { flushChart(cfg); }, wait);
  }

  function flushChart(cfg) {
    live.chartTimer = null;
    if (!live.pending.length || !chartReady(cfg)) return;
    if (held(cfg)) { scheduleChart(cfg); return; }
    live.lastDraw = Date.now();
    var batch = live.pending;
    live.pending = [];
    window.dash_clientside.set_props(cfg.ids.chart, {
      extendData: [{
        x: [batch.map(function (e) { return e.ts; })],
        y: [batch.map(function (e) { return e.source; })],
        text: [batch.map(function (e) { return "#" + e.id + " " + e.type + (e.status ? " " + e.status : ""); })],
        "marker.color": [batch.map(function (e) {
          var k = outcome(e.status);
          return k === "success" ? "#2f9e44" : k === "failure" ? "#e03131" : "#3b6cf6";
        })]
      }, [0], cfg.chart_max]
    });
    // The first points: the time axis instead of the waiting note (layouts/overview.py live_chart).
    var gd = chartHolder(cfg).querySelector(".js-plotly-plot");
    if ((gd.layout.annotations || []).length) window.Plotly.relayout(gd, {"xaxis.showticklabels": true, annotations: []});
  }

  function message(body) {
    live.nonce += 1;  // the component sends only a value that differs from the last one
    return JSON.stringify(Object.assign({}, body, {n: live.nonce}));
  }

  function requestUpdate() {
    live.resyncs += 1;
    live.recovering = Date.now();
    live.requests.push(live.safeId);
    return message({type: "request_update", after_id: live.safeId});
  }

  /* One frame from the socket; returns a message to send, if any. */
  function onFrame(cfg, raw, changed) {
    var data;
    try { data = JSON.parse(raw); } catch (err) { return null; }
    if (!data || typeof data !== "object") return null;
    if (data.type === "initial_data") {
      live.ready = true;
      live.recovering = null;
      live.seq = data.seq || 0;
      var events = data.events || [];
      if (live.startId === null) live.startId = data.last_id || 0;
      apply(cfg, events, changed);
      if (events.length >= cfg.replay_limit) {
        // A replay is capped: complete up to its last event, and ask for the rest.
        live.safeId = Math.max(live.safeId, events[events.length - 1].id);
        return requestUpdate();
      }
      live.safeId = Math.max(live.safeId, data.last_id || 0);
      return null;
    }
    if (data.type === "realtime_update") {
      // A frame before this socket's initial_data means that initial_data was skipped.
      // A frame repeats the events of frames back to from_seq: a gap is only a
      // frame (or an initial_data) that no later frame covered.
      if (live.ready && data.seq <= live.seq) return null;  // older than what was applied
      var gap = !live.ready || (data.from_seq || data.seq) > live.seq + 1;
      live.seq = data.seq;
      apply(cfg, data.events, changed);
      if (!gap && live.recovering === null) {
        live.safeId = Math.max(live.safeId, data.last_id);
        return null;
      }
      // One replay at a time: it covers every frame sent before it. With overlapping
      // frames the replay's answer is numbered and no later frame reaches back past
      // it, so a gap while one is pending means its answer was skipped: ask again now.
      return gap && (live.recovering === null || cfg.overlap > 1) ? requestUpdate() : null;
    }
    if (data.type === "error" && data.resync) return requestUpdate();
    return null;
  }

  function kpiText(value) {
    return value === null || value === undefined ? "–" : Number(value).toLocaleString("en-US");
  }

  function setBase(base) {
    live.kpiBase = base;
    var n = 0;
    if (base) live.seen.forEach(function (id) {
      if (id > base.last_event_id && (base.include_self || !live.selfIds.has(id))) n += 1;
    });
    live.kpiAfter = n;
  }

  function poll(cfg) {
    live.polling = true;
    var url = cfg.poll_path + "?after_id=" + live.safeId + "&limit=" + cfg.poll_limit;
    return fetch(url, {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : {events: []}; })
      .catch(function () { return {events: []}; })
      .then(function (body) {
        live.polling = false;
        var events = (body && body.events) || [];
        var changed = {};
        apply(cfg, events, changed);
        // Polled events come in id order, all after safeId: complete up to the last.
        events.forEach(function (e) { if (e.id > live.safeId) live.safeId = e.id; });
        return changed;
      });
  }

  function render(cfg, changed, send) {
    var out = [nu(), nu(), nu(), nu()];
    if (changed.kpis && live.kpiBase) {
      var b = live.kpiBase;
      out[0] = kpiText(b.events_today === null ? null : b.events_today + live.kpiAfter);
      out[1] = kpiText(b.events_last_hour === null ? null : b.events_last_hour + live.kpiAfter);
    }
    if (changed.toasts) out[2] = live.toasts.map(function (t) { return toastItem(cfg, t); });
    if (send) out[3] = send;
    return out;
  }

  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.pulse = {
    /* The socket's url and the status badge: the url is set once the chart is
     * drawn, and set again (a new query string) to reconnect, with backoff. */
    connect: function (_n, state, cfg, url) {
      session(cfg);
      var rs = state ? state.readyState : null;
      var now = Date.now();
      var next = nu();
      if (!url) {
        if (chartReady(cfg)) {
          next = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + cfg.socket_path;
          live.lastAttempt = now;
        }
      } else if (rs === 3) {
        var delay = Math.min(cfg.backoff_max_ms, 250 * Math.pow(2, Math.max(0, live.attempts - 1)));
        if (now - live.lastAttempt >= delay) {
          live.attempts += 1;
          live.lastAttempt = now;
          next = url.split("?")[0] + "?attempt=" + live.attempts;
        }
      } else if (rs === 1) {
        live.attempts = 0;
      }
      if (rs === 1) live.everOpen = true;
      var status = rs === 1 ? "live" : live.attempts > 6 ? "offline" : live.everOpen ? "reconnecting" : "connecting";
      return [next, status, "pb-live " + (status === "live" ? "pb-live-on" : "pb-live-off")];
    },

    /* Frames, the KPI base, toast clicks and the one-second tick -> the two
     * counting KPI cards, the toasts and messages to the server; the feed and
     * the chart are updated on the way. */
    receive: function (msg, state, base, click, _n, cfg) {
      session(cfg);
      var changed = {};
      var send = null;
      if (state && state !== live.lastState) {
        live.lastState = state;
        live.open = state.readyState === 1;
        if (live.open) {
          live.ready = false;
          live.seq = 0;
          live.recovering = null;
          var sub = {type: "subscribe", topics: cfg.topics, overlap: cfg.overlap};
          if (live.safeId > 0) sub.after_id = live.safeId;
          send = message(sub);
        } else {
          live.ready = false;
        }
      }
      if (base && base !== live.lastBase) {
        live.lastBase = base;
        setBase(base);
        changed.kpis = true;
      }
      if (msg && msg !== live.lastMessage && live.open) {
        live.lastMessage = msg;
        send = onFrame(cfg, msg.data, changed) || send;
      }
      if (click && click !== live.lastClick) {
        live.lastClick = click;
        var key = click["target.dataset.toast"];
        if (key) {
          live.toasts = live.toasts.filter(function (t) { return String(t.event.id) !== key; });
          changed.toasts = true;
        }
      }
      scheduleChart(cfg);  // points held while the time bar was paused are drawn once it resumes
      var now = Date.now();
      if (live.toasts.some(function (t) { return t.expires <= now; })) {
        live.toasts = live.toasts.filter(function (t) { return t.expires > now; });
        changed.toasts = true;
      }
      // The answer to a replay request can itself be skipped: ask again.
      if (!send && live.open && live.recovering !== null && now - live.recovering > cfg.recover_ms) send = requestUpdate();
      // While the socket is down, poll so that nothing is missed meanwhile.
      if (!live.open && live.startId !== null && !live.polling) {
        return poll(cfg).then(function (polled) { return render(cfg, Object.assign(changed, polled), send); });
      }
      return render(cfg, changed, send);
    }
  };
})();
