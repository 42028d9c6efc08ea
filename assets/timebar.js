/* The time bar's clientside callbacks (registered in callbacks/timebar.py):
 * a time chart's drag-zoom as a from/to in UTC, the charts' redraw counter,
 * and copy-link. Plotly draws the charts' UTC timestamps as written, so an
 * axis range reads as UTC. */
(function () {
  "use strict";
  var MOMENT = /^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$/;

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
