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
})();
