// The cohort edit form: the sentence under "Move the chapter dates with the start date" says by how many days
// the dates move while a new start date is typed. The checkbox carries the saved start date and the sentence's
// variants in its data attributes, in the page's language (course/cohorts/reschedule.py); the "other" variants
// hold a sample number that is replaced by the real one. Without scripts the sentence is the one the server
// wrote. Loaded as a file: the Content-Security-Policy forbids inline code.
(function () {
  "use strict";
  var DAY_MS = 24 * 60 * 60 * 1000;

  function dayNumber(iso) {
    var parts = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || "");
    if (!parts) return null;
    return Date.UTC(+parts[1], +parts[2] - 1, +parts[3]) / DAY_MS;
  }

  function sentence(box, days) {
    if (days === 0) return box.getAttribute("data-same");
    var way = days > 0 ? "later" : "earlier";
    var count = Math.abs(days);
    if (count === 1) return box.getAttribute("data-" + way + "-one");
    return box.getAttribute("data-" + way + "-other").split(box.getAttribute("data-sample")).join(String(count));
  }

  function init() {
    var box = document.getElementById("shift_schedule");
    var start = document.getElementById("starts_on");
    var help = document.getElementById("shift_schedule-help");
    if (!box || !start || !help) return;
    var saved = dayNumber(box.getAttribute("data-starts-on"));
    help.setAttribute("aria-live", "polite");
    var update = function () {
      var typed = dayNumber(start.value);
      if (saved === null || typed === null) return;
      help.textContent = sentence(box, typed - saved);
    };
    start.addEventListener("input", update);
    start.addEventListener("change", update);
    update();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
