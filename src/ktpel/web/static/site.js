// Site behaviour on top of USWDS: phone tables and confirmations. No inline scripts (the CSP forbids them).
(function () {
  "use strict";
  // USWDS stacked tables show each cell with its column name on phones: the name comes from data-label.
  document.querySelectorAll("table.usa-table--stacked").forEach(function (table) {
    var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
      return th.textContent.trim();
    });
    table.querySelectorAll("tbody tr").forEach(function (tr) {
      var i = 0;
      Array.prototype.forEach.call(tr.children, function (cell) {
        if (heads[i] && !cell.hasAttribute("data-label")) { cell.setAttribute("data-label", heads[i]); }
        i += cell.colSpan || 1;
      });
    });
  });
  // A form whose action cannot be undone asks first (the server asks again where it matters).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { ev.preventDefault(); }
    });
  });
  // Live pages reload themselves, but the reader can stop it (WCAG 2.2.1: no timing the user cannot control).
  var live = document.querySelector("[data-autorefresh]");
  if (live) {
    var seconds = parseInt(live.getAttribute("data-autorefresh"), 10) || 10;
    var btn = live.querySelector(".autorefresh-toggle");
    var timer = window.setTimeout(function () { window.location.reload(); }, seconds * 1000);
    if (btn) {
      btn.addEventListener("click", function () {
        window.clearTimeout(timer);
        btn.setAttribute("aria-pressed", "true");
        btn.disabled = true;
        btn.textContent = btn.textContent.replace(/^Hentikan/, "Dihentikan").replace(/^Stop/, "Stopped");
      });
    }
  }
})();
