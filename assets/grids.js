/* Tables on narrow screens: when a grid's columns no longer fit beside each
 * other (their minimum widths add up to more than the grid is wide, as on a
 * phone), the table scrolls sideways and its first column, the key of each
 * row, is pinned to the left so that every row stays readable; on a wider
 * screen it is unpinned again.
 *
 * The grids built by layouts/executions.py `grid` call pinKeyColumn on their
 * rows, size changes and new columns (dash-ag-grid eventListeners), and once
 * when they appear: a grid drawn with its rows (an execution's comparison)
 * has rendered them before its listeners are attached.
 * Cells format with bucketTime, groupedNumber and shownText (columnDefs valueFormatter).
 */
(function () {
  "use strict";

  // The grid's inner width: its centre viewport plus what is pinned beside it.
  function gridWidth(api, cols) {
    var range = api.getHorizontalPixelRange();
    var pinned = cols.reduce(function (sum, c) { return c.isVisible() && c.getPinned() ? sum + c.getActualWidth() : sum; }, 0);
    return range.right - range.left + pinned;
  }

  function fit(api) {
    if (api.isDestroyed()) return;
    var cols = api.getAllGridColumns();
    var width = gridWidth(api, cols);
    if (!width || !cols.length) return;
    var needed = cols.reduce(function (sum, c) { return c.isVisible() ? sum + c.getMinWidth() : sum; }, 0);
    var pinned = cols.length > 1 && needed > width ? "left" : null;
    var key = cols[0];
    if ((key.getPinned() || null) === pinned) return;
    api.applyColumnState({ state: [{ colId: key.getColId(), pinned: pinned }] });
  }

  // After the grid has laid out what the event changed, so that its viewport is measured.
  function pinKeyColumn(params) {
    window.requestAnimationFrame(function () { fit(params.api); });
  }

  /* Cell formatters (valueFormatter): a bucket's ISO time to the
   * minute, a number as layouts/format.py `number` writes it (grouped in
   * thousands from 1,000 on, else 4 significant digits), a missing value "–". */
  function bucketTime(params) {
    var v = params.value;
    return typeof v === "string" ? v.slice(0, 16).replace("T", " ") : v == null ? "–" : String(v);
  }

  function groupedNumber(params) {
    var v = params.value;
    if (v == null || (typeof v === "number" && isNaN(v))) return "–";
    if (typeof v !== "number") return String(v);
    var rounded = Number(v.toPrecision(4));
    return Math.abs(rounded) >= 1000 ? v.toLocaleString("en-US", { maximumFractionDigits: 0 }) : String(rounded);
  }

  // A value as the row writes it for its unit (layouts/explore.py result_rows), else grouped.
  function shownText(params) {
    var text = params.data && params.data[params.colDef.field + "_text"];
    return typeof text === "string" ? text : groupedNumber(params);
  }

  // Every table of the dashboard (class pb-grid) fitted once its grid is ready.
  function fitNewGrids() {
    var seen = new WeakSet();
    function scan() {
      var grids = window.dash_ag_grid;
      if (!grids || !grids.getApiAsync) return;
      document.querySelectorAll(".pb-grid[id]").forEach(function (el) {
        if (seen.has(el)) return;
        seen.add(el);
        grids.getApiAsync(el.id).then(function (api) { pinKeyColumn({ api: api }); }, function () {});
      });
    }
    new MutationObserver(scan).observe(document.body, { childList: true, subtree: true });
    scan();
  }
  if (document.body) fitNewGrids();
  else document.addEventListener("DOMContentLoaded", fitNewGrids);

  window.dashAgGridFunctions = window.dashAgGridFunctions || {};
  window.dashAgGridFunctions.pinKeyColumn = pinKeyColumn;
  window.dashAgGridFunctions.bucketTime = bucketTime;
  window.dashAgGridFunctions.groupedNumber = groupedNumber;
  window.dashAgGridFunctions.shownText = shownText;
})();
