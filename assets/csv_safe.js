/* CSV exports of the dashboard's tables, neutralised like the API's CSV
 * (data/export.py): a text cell that a spreadsheet would run as a formula
 * (starting with =, +, -, @, tab or carriage return) is prefixed with a
 * single quote. Numbers stay numbers (-3 is not a formula); objects and
 * lists are written as JSON.
 *
 * window.pulseboardCsv.exportGrid(gridId, fileName) exports a grid as shown
 * (sorted, filtered); callbacks/tables.py calls it from each table's CSV
 * button.
 */
(function () {
  "use strict";
  var FORMULA = /^[=+\-@\t\r]/;

  function cellText(value) {
    if (value === null || value === undefined) return "";
    if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return value;
    var text = typeof value === "object" ? JSON.stringify(value) : String(value);
    return FORMULA.test(text) ? "'" + text : text;
  }

  function processCell(params) {
    return cellText(params.value);
  }

  function processHeader(params) {
    var col = params.column;
    var def = col && col.getColDef ? col.getColDef() : {};
    return cellText(def.headerName || (col && col.getColId ? col.getColId() : ""));
  }

  function exportGrid(gridId, fileName) {
    var dag = window.dash_ag_grid;
    if (!dag || !dag.getApiAsync) return Promise.resolve(false);
    return dag.getApiAsync(gridId).then(function (api) {
      api.exportDataAsCsv({ fileName: fileName, processCellCallback: processCell, processHeaderCallback: processHeader });
      return true;
    });
  }

  window.pulseboardCsv = { cellText: cellText, exportGrid: exportGrid };
})();
