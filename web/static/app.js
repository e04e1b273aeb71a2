// SketchMatch — progressive enhancement only; every page works without it.
(function () {
  "use strict";
  // Preview the chosen sketch before upload.
  document.querySelectorAll("input[type=file][data-preview]").forEach(function (input) {
    var img = document.getElementById(input.getAttribute("data-preview"));
    if (!img) return;
    input.addEventListener("change", function () {
      var f = input.files && input.files[0];
      if (!f || !/^image\//.test(f.type)) { img.hidden = true; img.removeAttribute("src"); return; }
      if (img.src && img.src.indexOf("blob:") === 0) URL.revokeObjectURL(img.src);
      img.src = URL.createObjectURL(f);
      img.hidden = false;
    });
  });
  // Ask before destructive actions.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      if (!window.confirm(form.getAttribute("data-confirm"))) e.preventDefault();
    });
  });
  // Disable submit buttons while a (slow) upload is in flight.
  document.querySelectorAll("form[data-busy]").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) {
        b.disabled = true; b.textContent = form.getAttribute("data-busy");
      });
    });
  });
})();

// The face-box tool: drag a box over an image inside .facebox; the box is
// written, in the image's own pixels, to the hidden input named by
// data-box-input ("x0,y0,x1,y1"). Keyboard users: arrow keys move the
// box, shift+arrows resize it, once one is drawn.
(function () {
  "use strict";
  function setup(wrap) {
    var img = wrap.querySelector("img");
    var input = document.getElementById(wrap.getAttribute("data-box-input"));
    var status = document.getElementById(wrap.getAttribute("data-box-status"));
    if (!img || !input) return;
    var rect = document.createElement("div");
    rect.className = "facebox-rect";
    rect.hidden = true;
    wrap.appendChild(rect);
    wrap.classList.add("drawable");
    wrap.tabIndex = 0;
    wrap.setAttribute("role", "application");
    wrap.setAttribute("aria-label", "Face box: drag with the mouse or a finger; arrow keys move it, shift and arrows resize it");
    var box = null; // image pixels
    var start = null;
    function scale() { return img.naturalWidth ? img.clientWidth / img.naturalWidth : 1; }
    function clampBox(b) {
      var w = img.naturalWidth, h = img.naturalHeight;
      var x0 = Math.max(0, Math.min(b[0], b[2])), x1 = Math.min(w, Math.max(b[0], b[2]));
      var y0 = Math.max(0, Math.min(b[1], b[3])), y1 = Math.min(h, Math.max(b[1], b[3]));
      return [Math.round(x0), Math.round(y0), Math.round(x1), Math.round(y1)];
    }
    function draw(save) {
      if (!box) { rect.hidden = true; return; }
      var k = scale();
      rect.style.left = (img.offsetLeft + box[0] * k) + "px";
      rect.style.top = (img.offsetTop + box[1] * k) + "px";
      rect.style.width = ((box[2] - box[0]) * k) + "px";
      rect.style.height = ((box[3] - box[1]) * k) + "px";
      rect.hidden = false;
      if (save) {
        input.value = box.join(",");
        if (status) status.textContent = "Face box " + box[0] + "," + box[1] + " – " + box[2] + "," + box[3] + " (" + (box[2] - box[0]) + "×" + (box[3] - box[1]) + " px) will be used.";
      }
    }
    function at(e) {
      var r = img.getBoundingClientRect(), k = scale();
      return [(e.clientX - r.left) / k, (e.clientY - r.top) / k];
    }
    wrap.addEventListener("pointerdown", function (e) {
      if (img.hidden || !img.naturalWidth) return;
      start = at(e);
      wrap.setPointerCapture(e.pointerId);
      e.preventDefault();
    });
    wrap.addEventListener("pointermove", function (e) {
      if (!start) return;
      var p = at(e);
      box = clampBox([start[0], start[1], p[0], p[1]]);
      draw(false);
    });
    wrap.addEventListener("pointerup", function () {
      if (!start) return;
      start = null;
      if (box && box[2] - box[0] >= 16 && box[3] - box[1] >= 16) { draw(true); }
      else { box = null; input.value = ""; draw(false); if (status) status.textContent = "The box was too small; drag a larger box around the face."; }
    });
    wrap.addEventListener("keydown", function (e) {
      if (!box) return;
      var d = { ArrowLeft: [-4, 0], ArrowRight: [4, 0], ArrowUp: [0, -4], ArrowDown: [0, 4] }[e.key];
      if (!d) return;
      e.preventDefault();
      if (e.shiftKey) box = clampBox([box[0], box[1], box[2] + d[0], box[3] + d[1]]);
      else box = clampBox([box[0] + d[0], box[1] + d[1], box[2] + d[0], box[3] + d[1]]);
      draw(true);
    });
    window.addEventListener("resize", function () { draw(false); });
    img.addEventListener("load", function () {
      var init = wrap.getAttribute("data-box-initial");
      box = null; input.value = "";
      if (init) { var v = init.split(",").map(Number); if (v.length === 4) box = v; }
      draw(false);
    });
    if (img.complete && img.naturalWidth) img.dispatchEvent(new Event("load"));
  }
  document.querySelectorAll(".facebox").forEach(setup);

  // Search without losing the chosen sketch: submit in the background; a
  // sketch without a face brings up the prompt (box or search anyway)
  // instead of a reload that would clear the file.
  document.querySelectorAll("form[data-noface]").forEach(function (form) {
    var prompt = document.getElementById(form.getAttribute("data-noface"));
    form.addEventListener("submit", function (e) {
      if (!window.fetch || !window.FormData) return;
      e.preventDefault();
      var buttons = form.querySelectorAll("button[type=submit]");
      fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin", headers: { "X-Sketch-Fetch": "1" } }).then(function (res) {
        var to = res.headers.get("X-Sketch-Location");
        if (res.status === 204 && to && to.charAt(0) === "/") { window.location.assign(to); return; }
        if (res.headers.get("X-Sketch-No-Face") === "1") {
          buttons.forEach(function (b) { b.disabled = false; b.textContent = "Search"; });
          if (prompt) { prompt.hidden = false; prompt.focus && prompt.scrollIntoView({ block: "center" }); }
          return;
        }
        if (res.redirected) { window.location.assign(res.url); return; }
        return res.text().then(function (html) { document.open(); document.write(html); document.close(); });
      }).catch(function () { form.submit(); });
    });
  });
})();

// Print buttons (no inline handlers: the CSP forbids them).
document.querySelectorAll("[data-print]").forEach(function (b) {
  b.addEventListener("click", function () { window.print(); });
});

// Refuse a file larger than the server accepts before sending it: the
// limit is on the whole upload, so several files count together.
document.querySelectorAll("input[type=file][data-max-bytes]").forEach(function (input) {
  var max = parseInt(input.getAttribute("data-max-bytes"), 10);
  var msg = document.getElementById(input.getAttribute("aria-describedby"));
  input.addEventListener("change", function () {
    var total = 0;
    Array.prototype.forEach.call(input.files || [], function (f) { total += f.size; });
    if (max > 0 && total > max) {
      var mb = function (n) { return (n / 1048576).toFixed(1) + " MiB"; };
      if (msg) { msg.textContent = "Too large: " + mb(total) + " chosen, at most " + mb(max) + " per upload. Choose a smaller file" + (input.multiple ? " or fewer files." : "."); msg.hidden = false; }
      input.value = "";
      input.dispatchEvent(new Event("change"));
      input.setCustomValidity && input.setCustomValidity("");
      return;
    }
    if (msg && total > 0) { msg.hidden = true; msg.textContent = ""; }
  });
});
