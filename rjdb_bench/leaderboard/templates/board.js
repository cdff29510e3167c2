// Tabs, sortable columns and entry details for the rjdb-bench leaderboard page. Reads only
// the DOM the page was rendered with; fetches nothing.
(function () {
  "use strict";
  var tabs = Array.prototype.slice.call(document.querySelectorAll("[role=tab]"));
  function showView(id) {
    var found = false;
    tabs.forEach(function (tab) {
      var selected = tab.getAttribute("data-view") === id;
      found = found || selected;
      tab.setAttribute("aria-selected", selected ? "true" : "false");
      tab.tabIndex = selected ? 0 : -1;
      document.getElementById("view-" + tab.getAttribute("data-view")).hidden = !selected;
    });
    return found;
  }
  tabs.forEach(function (tab) {
    tab.addEventListener("click", function () {
      var id = tab.getAttribute("data-view");
      showView(id);
      history.replaceState(null, "", "#view=" + id);
    });
  });

  function cellValue(row, column) {
    var cell = row.querySelector('[data-col="' + column + '"]');
    if (!cell) return null;
    var raw = cell.getAttribute("data-value");
    if (raw === null || raw === "") return null;
    var number = Number(raw);
    return isNaN(number) ? raw.toLowerCase() : number;
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.board"), function (table) {
    var headers = Array.prototype.slice.call(table.querySelectorAll("thead th"));
    headers.forEach(function (header) {
      var button = header.querySelector("button.sort");
      if (!button) return;
      button.addEventListener("click", function () {
        var column = header.getAttribute("data-col");
        var descending = header.getAttribute("aria-sort") !== "descending";
        if (header.getAttribute("data-lower-is-better") === "true" && !header.hasAttribute("aria-sort")) {
          descending = false;
        }
        headers.forEach(function (other) { other.removeAttribute("aria-sort"); });
        header.setAttribute("aria-sort", descending ? "descending" : "ascending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = cellValue(a, column), y = cellValue(b, column);
          if (x === null && y === null) return 0;
          if (x === null) return 1;  // entries without a score stay last either way
          if (y === null) return -1;
          var order = x < y ? -1 : x > y ? 1 : 0;
          return descending ? -order : order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });

  function openEntry() {
    var match = /^#entry-([0-9a-f]{16})$/.exec(location.hash);
    if (!match) return false;
    var details = document.getElementById("entry-" + match[1]);
    if (details) { details.open = true; details.scrollIntoView(); }
    return true;
  }
  window.addEventListener("hashchange", openEntry);
  var hashView = /^#view=([A-Za-z0-9_-]+)$/.exec(location.hash);
  if (!(hashView && showView(hashView[1]))) {
    showView(tabs.length ? tabs[0].getAttribute("data-view") : "");
    openEntry();
  }
})();
