/* The time bar's clientside callbacks (registered in callbacks/timebar.py):
 * a time chart's drag-zoom as a from/to in UTC, the charts' redraw counter,
 * and copy-link. Plotly draws the charts' UTC timestamps as written, so an
 * axis range reads as UTC.
 *
 * The navigation links and the brand are completed when clicked: the time
 * parameters of the address at that moment go along (core.timerange.keep_time
 * on the server does the same for the links' hrefs, which a callback rewrites
 * after every change of the address; a click in between would lose them). */
(function () {
  "use strict";
  var MOMENT = /^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$/;
  var TIME_KEYS = ["range", "from", "to", "refresh", "paused"];
  var LEGACY = "window";

  /* The time parameters of an address's query, in TIME_KEYS order ("" for none). */
  function timeQuery(search) {
    var current = new URLSearchParams(search || "");
    var pairs = [];
    TIME_KEYS.forEach(function (key) {
      var value = current.get(key);
      if (value) pairs.push([key, value]);
    });
    var hasRange = pairs.some(function (p) { return p[0] === "range" || p[0] === "from" || p[0] === "to"; });
    if (!hasRange && current.get(LEGACY)) pairs.unshift(["range", current.get(LEGACY)]);
    if (!pairs.length) return "";
    return "?" + pairs.map(function (p) {
      return p[0] + "=" + encodeURIComponent(p[1]).replace(/%3A/g, ":").replace(/%2C/g, ",");
    }).join("&");
  }

  /* A plain left click on a navigation link or the brand: go to its page with
   * the current address's time parameters, the way Dash's own links navigate. */
  function followWithTime(event) {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    var link = event.target && event.target.closest && event.target.closest(".pb-navbar a.nav-link, .pb-navbar a.navbar-brand");
    if (!link || link.target === "_blank") return;
    var href = new URL(link.getAttribute("href") || "/", window.location.href);
    if (href.origin !== window.location.origin) return;
    var wanted = href.pathname + timeQuery(window.location.search);
    event.preventDefault();
    event.stopPropagation();
    link.setAttribute("href", wanted);
    if (wanted === window.location.pathname + window.location.search) return;
    window.history.pushState({}, "", wanted);
    window.dispatchEvent(new CustomEvent("_dashprivate_pushstate"));
    window.scrollTo(0, 0);
  }
  document.addEventListener("click", followWithTime, true);

  /* The PDF link: this page with its whole address, titled by the current page's name. */
  document.addEventListener("click", function (event) {
    var link = event.target && event.target.closest && event.target.closest("a.pb-pdf");
    if (!link) return;
    var active = document.querySelector(".pb-navbar a.nav-link.active");
    var title = "Pulseboard" + (active ? " · " + active.textContent.trim() : "");
    var dark = document.documentElement.getAttribute("data-bs-theme") === "dark";
    link.setAttribute("href", "/api/pdf?path=" + encodeURIComponent(window.location.pathname + window.location.search) +
      "&title=" + encodeURIComponent(title) + (dark ? "&theme=dark" : ""));
  }, true);

  function nu() { return window.dash_clientside.no_update; }

  /* An axis end as ISO UTC to the second; null for a category or numeric axis. */
  function utc(value) {
    if (typeof value !== "string" || !MOMENT.test(value)) return null;
    var d = new Date(value.replace(" ", "T") + (value.length === 10 ? "T00:00:00Z" : "Z"));
    return isNaN(d.getTime()) ? null : d.toISOString().replace(/\.\d{3}Z$/, "Z");
  }

  function copyByHand(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (err) { ok = false; }
    area.remove();
    return ok;
  }

  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.timebar = {
    /* relayoutData -> {from, to} for a drag-zoom, {reset} for a double-click. */
    zoom: function (r) {
      if (!r) return nu();
      var a = r["xaxis.range[0]"], b = r["xaxis.range[1]"];
      if (a === undefined && Array.isArray(r["xaxis.range"])) { a = r["xaxis.range"][0]; b = r["xaxis.range"][1]; }
      if (a !== undefined && b !== undefined) {
        var from = utc(a), to = utc(b);
        return from && to && from < to ? {from: from, to: to, at: Date.now()} : nu();
      }
      if (r["xaxis.autorange"]) return {reset: true, at: Date.now()};
      return nu();
    },

    /* A page's wanted query string while the address is still on its ``path`` (ending in "/":
     * any path below it), else nothing: a callback answering after the user left the page
     * must not write into the next page's address. */
    pageSearch: function (wanted, path) {
      var here = window.location.pathname, root = document.documentElement;
      var shown = path.slice(-1) === "/" && path !== "/" ? here.indexOf(path) === 0 : here === path;
      if (typeof wanted !== "string") return nu();
      if (!shown) {
        var dropped = (parseInt(root.getAttribute("data-pb-dropped-writes"), 10) || 0) + 1;
        root.setAttribute("data-pb-dropped-writes", String(dropped));
        return nu();
      }
      return wanted;
    },

    drawn: function (_figure, count) { return String((parseInt(count, 10) || 0) + 1); },

    /* The page's URL (all its state) to the clipboard, and a short confirmation. */
    copyLink: function () {
      var url = window.location.href;
      var out = window.dash_clientside.callback_context.outputs_list;
      var target = out && out.id;
      function said(ok) {
        if (target) {
          setTimeout(function () { window.dash_clientside.set_props(target, {children: ""}); }, 2500);
        }
        return ok ? "Copied" : "Copy this link: " + url;
      }
      if (navigator.clipboard && window.isSecureContext) {
        return navigator.clipboard.writeText(url).then(
          function () { return said(true); },
          function () { return said(copyByHand(url)); }
        );
      }
      return said(copyByHand(url));
    }
  };
})();
