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
    }
    var list = document.getElementById("messages");
    if (list) { list.lastElementChild && list.lastElementChild.scrollIntoView({block: "end"}); }
  });
})();
