// The composer: Enter sends, Shift+Enter adds a line; the page follows the answer as it streams.
(function () {
  "use strict";

  function form() { return document.getElementById("ask-form"); }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (target && target.id === "message" && event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      if (target.value.trim()) { form().requestSubmit(); }
    }
  });

  document.addEventListener("htmx:wsConfigSend", function (event) {
    var message = document.getElementById("message");
    if (event.target === form()) {
      if (!message.value.trim()) { event.preventDefault(); return; }
      // Clear the box once the question has left.
      setTimeout(function () { message.value = ""; message.focus(); }, 0);
    }
  });

  document.addEventListener("htmx:wsAfterMessage", function () {
    var meta = document.getElementById("conversation-meta");
    if (meta && meta.dataset.url && window.location.pathname !== meta.dataset.url) {
      window.history.replaceState({}, "", meta.dataset.url);
      // Switching language should come back to the conversation, not to the empty page.
      document.querySelectorAll("form.lang-switch input[name=next]").forEach(function (input) {
        input.value = meta.dataset.url;
      });
    }
    if (meta && meta.dataset.summary) {
      // An answer arrived: the sidebar item shows the new count and date and moves to the top
      // (unless it is being renamed: moving it would take the focus from the title).
      var item = document.getElementById("conversation-" + meta.dataset.id);
      if (item) {
        item.querySelector(".c-meta").textContent = meta.dataset.summary;
        if (!item.classList.contains("renaming") && item.parentElement.firstElementChild !== item) {
          item.parentElement.prepend(item);
        }
      }
      delete meta.dataset.summary;
    }
    if (following) { toEnd(); }
  });

  // The conversation scrolls in its own box, the composer stuck to its bottom: the newest message is
  // kept in view by scrolling the box to its end (the composer then sits below the message, not on
  // it) while an answer streams — unless the reader scrolled up to read, until they come back down.
  // A conversation opens at its last message.
  var following = true;
  function scroller() {
    var list = document.getElementById("messages");
    for (var el = list && list.parentElement; el; el = el.parentElement) {
      var style = window.getComputedStyle(el);
      if (/(auto|scroll)/.test(style.overflowY) && el.scrollHeight > el.clientHeight) { return el; }
    }
    return document.scrollingElement;
  }
  function atEnd(el) { return el.scrollHeight - el.scrollTop - el.clientHeight < 48; }
  function toEnd() {
    var el = scroller();
    if (el) { el.scrollTop = el.scrollHeight; }
  }
  document.addEventListener("scroll", function (event) {
    var el = scroller();
    if (el && (event.target === el || (event.target === document && el === document.scrollingElement))) {
      following = atEnd(el);
    }
  }, true);
  document.addEventListener("htmx:wsBeforeSend", function (event) {
    if (event.target === form()) { following = true; }
  });
  function openAtEnd() { if (document.getElementById("messages")) { toEnd(); } }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", openAtEnd); } else { openAtEnd(); }

  // Sidebar: rename in place, cancel with Escape, errors in one place, collapse on small screens.
  function cancelRename(form) {
    var item = form.closest(".conversation-item");
    form.remove();
    if (item) {
      item.classList.remove("renaming");
      var button = item.querySelector("[data-action=rename]");
      if (button) { button.focus(); }
    }
  }

  document.addEventListener("click", function (event) {
    var cancel = event.target.closest("[data-action=cancel-rename]");
    if (cancel) { cancelRename(cancel.closest("form")); return; }
    var toggle = event.target.closest(".sidebar-toggle");
    if (toggle) {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      document.getElementById("sidebar").classList.toggle("open", open);
    }
  });

  document.addEventListener("keydown", function (event) {
    var form = event.target && event.target.closest && event.target.closest(".rename-form");
    if (form && event.key === "Escape") {
      event.preventDefault();
      cancelRename(form);
    }
  });

  // A rejected title comes back as the form with its error (400): show it like a success.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var elt = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (event.detail.xhr.status === 400 && elt && elt.closest(".rename-form")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("htmx:load", function (event) {
    var input = event.target.querySelector && event.target.querySelector(".rename-form input[name=title]");
    if (input) { input.focus(); input.select(); }
  });

  function sidebarError(event, failed) {
    var sidebar = document.getElementById("sidebar");
    var box = document.getElementById("sidebar-error");
    if (!sidebar || !box || !sidebar.contains(event.detail.elt)) { return; }
    box.textContent = failed ? sidebar.dataset.errorMessage : "";
  }
  document.addEventListener("htmx:responseError", function (event) { sidebarError(event, true); });
  document.addEventListener("htmx:sendError", function (event) { sidebarError(event, true); });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.successful) { sidebarError(event, false); }
  });
})();
