// Live chat page of a handoff: keep the newest message in view, also as htmx appends new ones.
(function () {
  "use strict";
  function toBottom(element) { element.scrollTop = element.scrollHeight; }
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id === "pesan") { toBottom(event.detail.target); }
  });
  var chat = document.getElementById("pesan");
  if (chat) { toBottom(chat); }
})();
