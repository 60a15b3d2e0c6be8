/* egov shell behaviour. No inline scripts anywhere: the Content-Security-Policy forbids them. */
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }

  ready(function () {
    document.documentElement.classList.add("js");

    // Selects that submit their form on change (position switch, language); the button stays for no-JS.
    document.querySelectorAll("[data-autosubmit] select, select[data-autosubmit-select]").forEach(function (el) {
      el.addEventListener("change", function () { el.form.submit(); });
    });

    // Phone layout: the navigation opens from the top bar.
    var toggle = document.querySelector("[data-nav-toggle]");
    var nav = document.getElementById("sidenav");
    if (toggle && nav) {
      toggle.addEventListener("click", function () {
        var open = nav.classList.toggle("open");
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
      });
    }

    // Buttons that ask before a destructive act: data-confirm="message".
    document.addEventListener("submit", function (event) {
      var button = event.submitter;
      var message = (button && button.dataset.confirm) || event.target.dataset.confirm;
      if (message && !window.confirm(message)) { event.preventDefault(); }
    });

    // Installable web app (mobile office).
    var sw = document.body.dataset.serviceWorker;
    if (sw && "serviceWorker" in navigator && window.isSecureContext) {
      navigator.serviceWorker.register(sw).catch(function () {});
    }
  });
})();
