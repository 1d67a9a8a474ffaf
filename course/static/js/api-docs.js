// The API reference page (/api/v1/docs): Swagger UI over the app's own OpenAPI document.
window.addEventListener("DOMContentLoaded", () => {
  const node = document.getElementById("swagger-ui");
  if (!node || typeof window.SwaggerUIBundle !== "function") return;
  window.SwaggerUIBundle({ url: node.dataset.specUrl, domNode: node, deepLinking: true });
});
