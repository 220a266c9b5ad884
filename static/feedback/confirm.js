// Forms with a data-confirm attribute ask before they submit (a delete, say). Kept out of the
// templates so the Content-Security-Policy can forbid inline scripts and event handlers.
document.addEventListener("submit", function (event) {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
}, true);
