// nhiscan review page: conveniences only. Every decision works without
// this script (plain forms, POST-redirect-GET).
(function () {
  "use strict";

  // Bulk: "select all open items" and a live count of the selection.
  var bulk = document.getElementById("bulk");
  if (bulk) {
    var boxes = Array.prototype.slice.call(document.querySelectorAll('input[type=checkbox][form=bulk][name=item]'));
    var all = document.getElementById("select-all");
    var count = document.getElementById("selected-count");
    var submit = document.getElementById("bulk-submit");
    var update = function () {
      var n = boxes.filter(function (b) { return b.checked; }).length;
      if (count) { count.textContent = n + " of " + boxes.length + " selected"; }
      if (all) {
        all.checked = n === boxes.length && n > 0;
        all.indeterminate = n > 0 && n < boxes.length;
      }
      if (submit) { submit.textContent = n > 0 ? "Apply to the " + n + " selected item" + (n === 1 ? "" : "s") : "Apply to the selected items"; }
    };
    boxes.forEach(function (b) { b.addEventListener("change", update); });
    if (all) {
      all.addEventListener("change", function () {
        boxes.forEach(function (b) { b.checked = all.checked; });
        update();
      });
    }
    Array.prototype.forEach.call(bulk.querySelectorAll(".js-only"), function (el) { el.hidden = false; });
    update();
  }

  // Decision forms: show only the fields of the chosen decision, and
  // require a justification where the item needs one.
  Array.prototype.forEach.call(document.querySelectorAll("form.decide"), function (form) {
    var fields = form.querySelectorAll("[data-for]");
    var just = form.querySelector("textarea[name=justification]");
    var sync = function () {
      var chosen = form.querySelector("input[name=decision]:checked");
      var v = chosen ? chosen.value : "";
      Array.prototype.forEach.call(fields, function (f) { f.hidden = f.getAttribute("data-for") !== v; });
      if (just && just.getAttribute("data-required") === "true") {
        just.required = v === "certify" || v === "revoke" || v === "reduce";
      }
    };
    form.addEventListener("change", sync);
    sync();
  });

  // The review link's token never stays in the address bar or history.
  if (window.location.search.indexOf("t=") >= 0 && window.history.replaceState) {
    window.history.replaceState(null, "", window.location.pathname);
  }
})();
