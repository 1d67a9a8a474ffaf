// Renders every `pre.mermaid` block (the diagram's source) as an SVG diagram.
// Without scripts, or if rendering fails, the source stays on the page as readable text.
(function () {
  if (typeof window.mermaid === "undefined") return;
  var dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: dark ? "dark" : "default" });
  var blocks = document.querySelectorAll("pre.mermaid");
  window.mermaid.run({ nodes: blocks, suppressErrors: true }).then(function () {
    blocks.forEach(function (block) {
      var svg = block.querySelector("svg");
      if (svg) {
        svg.setAttribute("role", "img");
        block.setAttribute("data-rendered", "true");
      }
    });
  });
})();
