// Collision detection on the case page: while the reply box is being written in, the presence poll
// says "typing" (the #typing-flag hidden input, included in the poll); 4 s after the last keystroke it
// stops. The first keystroke polls at once (the "typing" trigger of #presence), so others see it soon.
(function () {
  "use strict";
  var timer = null;
  document.addEventListener("input", function (event) {
    if (!event.target.matches || !event.target.matches("#reply_text")) { return; }
    var flag = document.getElementById("typing-flag");
    if (!flag) { return; }
    var wasIdle = flag.value !== "1";
    flag.value = "1";
    clearTimeout(timer);
    timer = setTimeout(function () { flag.value = ""; }, 4000);
    if (wasIdle && window.htmx) { window.htmx.trigger("#presence", "typing"); }
  });
  // Leaving the page (another page, a reload, a closed tab): others stop seeing us at once, not after
  // the presence timeout. A beacon survives the page's unloading; it carries the CSRF token.
  window.addEventListener("pagehide", function () {
    var bar = document.getElementById("presence");
    var token = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (!bar || !token || !navigator.sendBeacon) { return; }
    var data = new FormData();
    data.append("leave", "1");
    data.append("csrfmiddlewaretoken", token.value);
    navigator.sendBeacon(bar.getAttribute("hx-post"), data);
  });
})();
