// Renders every `pre.mermaid` block (a diagram's source) as an SVG picture.
// Mermaid's SVG carries its own <style>; shown through <img> it needs no inline styles in the page, so the
// strict Content-Security-Policy (no 'unsafe-inline') holds. Without scripts, or if a diagram fails to
// render, its source stays on the page as readable text.
(function () {
  "use strict";
  if (typeof window.mermaid === "undefined") return;
  var dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  window.mermaid.initialize({
    startOnLoad: false,
    securityLevel: "strict",
    theme: dark ? "dark" : "default",
    htmlLabels: false,
    // Labels are measured here and drawn inside an <img>: use fonts every system has, and wrap wide.
    themeVariables: { fontFamily: '"Noto Sans CJK SC", "DejaVu Sans", Arial, sans-serif' },
    flowchart: { htmlLabels: false, wrappingWidth: 260 },
  });
  // Give the SVG an intrinsic size from its viewBox: as an <img>, "width=100%" would have none.
  function sized(svg) {
    var match = /viewBox="([\d.\-]+) ([\d.\-]+) ([\d.]+) ([\d.]+)"/.exec(svg);
    if (!match) return svg;
    return svg.replace(/<svg([^>]*?) width="100%"/, '<svg$1 width="' + match[3] + '" height="' + match[4] + '"');
  }
  var labelled = document.querySelector("[data-diagram-source-label]");
  var sourceLabel = labelled ? labelled.getAttribute("data-diagram-source-label") : "Diagram source";
  var blocks = Array.prototype.slice.call(document.querySelectorAll("pre.mermaid"));
  blocks.reduce(function (previous, block, index) {
    return previous.then(function () {
      var source = block.textContent;
      return window.mermaid.render("diagram-" + index, source).then(function (result) {
        var svg = sized(result.svg);
        var img = document.createElement("img");
        img.className = "diagram-image";
        img.alt = block.getAttribute("data-alt") || "";
        img.src = URL.createObjectURL(new Blob([svg], { type: "image/svg+xml" }));
        var details = document.createElement("details");
        var summary = document.createElement("summary");
        summary.textContent = sourceLabel;
        details.appendChild(summary);
        block.parentNode.insertBefore(img, block);
        block.parentNode.insertBefore(details, block);
        details.appendChild(block);
        block.setAttribute("data-rendered", "true");
      }).catch(function () { /* keep the readable source */ });
    });
  }, Promise.resolve());
})();
