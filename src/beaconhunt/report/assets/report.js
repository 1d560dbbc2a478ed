// beaconhunt report: filter and sort the findings table in the page, without a server.
// Values are read from data attributes and compared as text; nothing is ever written
// back as HTML (no innerHTML), so a value from the logs stays text.
(function () {
  "use strict";
  var table = document.getElementById("findings-table");
  if (!table) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var decision = document.getElementById("f-decision");
  var kind = document.getElementById("f-kind");
  var score = document.getElementById("f-score");
  var text = document.getElementById("f-text");
  var count = document.getElementById("f-count");
  var cases = {};
  Array.prototype.forEach.call(document.querySelectorAll("details.case"), function (d) {
    cases[d.getAttribute("data-id")] = d;
  });

  function apply() {
    var d = decision.value, k = kind.value, s = parseFloat(score.value) || 0;
    var q = text.value.trim().toLowerCase();
    var shown = 0;
    rows.forEach(function (r) {
      var ok = (!d || r.dataset.decision === d) && (!k || r.dataset.kind === k) &&
        parseFloat(r.dataset.score) >= s &&
        (!q || (r.dataset.src + " " + r.dataset.dst + " " + r.dataset.proc + " " +
                r.dataset.id).toLowerCase().indexOf(q) >= 0);
      r.hidden = !ok;
      var c = cases[r.dataset.id];
      if (c) { c.hidden = !ok; }
      if (ok) { shown += 1; }
    });
    count.textContent = shown + " shown";
  }

  [decision, kind].forEach(function (el) { el.addEventListener("change", apply); });
  [score, text].forEach(function (el) { el.addEventListener("input", apply); });
  document.getElementById("filters").addEventListener("submit", function (e) { e.preventDefault(); });

  var order = { escalate: 0, monitor: 1, close: 2 };
  Array.prototype.forEach.call(table.querySelectorAll("th button[data-sort]"), function (b) {
    b.addEventListener("click", function () {
      var key = b.getAttribute("data-sort"), num = b.getAttribute("data-type") === "num";
      var desc = b.getAttribute("aria-sort") !== "descending";
      Array.prototype.forEach.call(table.querySelectorAll("th button"), function (o) {
        o.removeAttribute("aria-sort");
      });
      b.setAttribute("aria-sort", desc ? "descending" : "ascending");
      rows.sort(function (x, y) {
        var a = x.dataset[key], c = y.dataset[key], r;
        if (key === "decision") { r = order[a] - order[c]; }
        else if (num) { r = parseFloat(a) - parseFloat(c); }
        else { r = a < c ? -1 : a > c ? 1 : 0; }
        return desc ? -r : r;
      });
      var frag = document.createDocumentFragment();
      rows.forEach(function (r) { frag.appendChild(r); });
      body.appendChild(frag);
    });
  });

  // Printing shows every case the filters leave visible, opened.
  window.addEventListener("beforeprint", function () {
    Object.keys(cases).forEach(function (id) { cases[id].open = !cases[id].hidden; });
  });
})();
