// The user menu in the top bar is a <details> element (it opens and closes without script, by mouse or
// keyboard); this adds what a menu also does: Escape closes it (focus back on its button) and so does a click
// elsewhere. Kept out of the templates: the Content-Security-Policy forbids inline scripts.
(function () {
  "use strict";
  function openMenus() { return Array.from(document.querySelectorAll("details.user-menu[open]")); }
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    openMenus().forEach(function (menu) { menu.open = false; menu.querySelector("summary").focus(); });
  });
  document.addEventListener("click", function (event) {
    openMenus().forEach(function (menu) { if (!menu.contains(event.target)) menu.open = false; });
  });
})();
