// The writing page's small enhancements; everything works without them.
// - The schedule field is read in the browser's time zone (its offset is sent along).
// - The preview follows the text as it is typed (the same server rendering as the
//   Preview button, fetched from /editor/preview).
// - Alt text becomes required once an image file is chosen.
(function () {
  "use strict";
  var form = document.getElementById("post-form");
  if (!form) return;
  var offset = document.getElementById("tz_offset");
  if (offset) {
    offset.value = String(new Date().getTimezoneOffset());
    var label = document.getElementById("schedule-label");
    if (label) label.textContent = "Publish at (your local time)";
  }
  var file = document.getElementById("image_file");
  var alt = document.getElementById("alt");
  if (file && alt) {
    file.addEventListener("change", function () { alt.required = file.files.length > 0; });
  }
  var target = document.getElementById("preview-body");
  var url = form.getAttribute("data-preview");
  if (!target || !url || !window.fetch || !window.FormData) return;
  var timer = null;
  var sent = 0;
  function refresh() {
    var data = new FormData(form);
    data.delete("image_file");
    data.set("action", "preview");
    var mine = ++sent;
    fetch(url, { method: "POST", body: data, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) { if (html !== null && mine === sent) target.innerHTML = html; })
      .catch(function () {});
  }
  form.addEventListener("input", function (event) {
    if (event.target === file) return;
    clearTimeout(timer);
    timer = setTimeout(refresh, 400);
  });
})();
