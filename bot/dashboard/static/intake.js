// Walk-in intake: apply the triage suggestion to the category select; print the receipt.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) { return; }
    var apply = target.closest("[data-apply-category]");
    if (apply) {
      var select = document.getElementById("intake-category");
      if (select) { select.value = apply.getAttribute("data-apply-category"); select.focus(); }
      return;
    }
    if (target.closest("[data-print]")) { window.print(); }
  });
})();
