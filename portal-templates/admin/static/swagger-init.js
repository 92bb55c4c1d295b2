// Swagger UI on Portico's generated OpenAPI document (no inline script:
// the management listener's CSP forbids it).
window.addEventListener('DOMContentLoaded', function () {
  window.ui = SwaggerUIBundle({ url: '/api/v1/openapi.json', dom_id: '#swagger-ui' });
});
