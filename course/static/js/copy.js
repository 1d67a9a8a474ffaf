// Copy buttons: `<button data-copy="ID" data-copied="…" data-copy-failed="…" hidden>` copies the value of the
// field #ID to the clipboard and says so in `[data-copy-status="ID"]` (a live region, so it is announced).
// Without scripts the button stays hidden and the read-only field is there to select and copy by hand; the
// messages come from the page, in its language. Loaded as a file: the Content-Security-Policy forbids inline code.
(function () {
  "use strict";
  var CLEAR_AFTER_MS = 4000;

  function say(status, message) {
    if (!status) return;
    // Emptied first, so that the same message said twice is announced twice.
    status.textContent = "";
    window.setTimeout(function () { status.textContent = message; }, 50);
    window.clearTimeout(status.clearTimer);
    status.clearTimer = window.setTimeout(function () { status.textContent = ""; }, CLEAR_AFTER_MS);
  }

  // The older way, for a page not served over HTTPS: copy what is selected, then give the focus back.
  function copyBySelection(field, button) {
    field.focus();
    field.select();
    var copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (error) {
      copied = false;
    }
    if (copied) button.focus();
    return copied;
  }

  function copy(button) {
    var id = button.getAttribute("data-copy");
    var field = document.getElementById(id);
    var status = document.querySelector('[data-copy-status="' + id + '"]');
    if (!field) return;
    var done = function () { say(status, button.getAttribute("data-copied")); };
    var failed = function () {
      field.focus();
      field.select();
      say(status, button.getAttribute("data-copy-failed"));
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () {
        if (copyBySelection(field, button)) done(); else failed();
      });
    } else if (copyBySelection(field, button)) {
      done();
    } else {
      failed();
    }
  }

  Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { copy(button); });
  });
  // Clicking into a read-only link selects all of it, ready to copy by hand.
  Array.prototype.forEach.call(document.querySelectorAll("input.copy-input[readonly]"), function (field) {
    field.addEventListener("focus", function () { field.select(); });
  });
})();
