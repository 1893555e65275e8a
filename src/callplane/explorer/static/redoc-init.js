// Starts ReDoc on /redoc. A file, not an inline script: the page's CSP allows only 'self'.
// ReDoc writes its styles into <style> elements: they carry the response's nonce.
window.addEventListener("load", function () {
  var root = document.getElementById("redoc");
  Redoc.init(root.dataset.openapiUrl, { nonce: root.dataset.styleNonce }, root);
});
