// Draw every figure a page embeds as <script type="application/json" data-plot="ID">: the
// figure (built in Python with plotly) goes into the element with that id. Without
// JavaScript the page's tables carry the same numbers.
//
// Where htmx replaced part of a page (the Sverige page's form), the figures in the new part
// are drawn, the focus moves to its element marked data-focus, and the page's live status
// region (role="status") reads out the new part's data-status, so a keyboard or screen-reader
// user hears what changed.
(function () {
  "use strict";
  function draw(root) {
    if (typeof Plotly === "undefined") { return; }
    root.querySelectorAll('script[type="application/json"][data-plot]').forEach(function (node) {
      var target = document.getElementById(node.dataset.plot);
      if (!target) { return; }
      var figure = JSON.parse(node.textContent);
      if (target.classList.contains("js-plotly-plot")) { Plotly.purge(target); }
      target.textContent = "";
      Plotly.newPlot(target, figure.data, figure.layout, {
        responsive: true,
        displaylogo: false,
        scrollZoom: false
      });
    });
  }
  function announce(root) {
    var holder = root.matches("[data-status]") ? root : root.querySelector("[data-status]");
    var status = document.querySelector('[role="status"][aria-live]');
    if (holder && status) {
      status.textContent = "";
      // a new text after a pause, so the same message twice is read out twice
      window.setTimeout(function () { status.textContent = holder.dataset.status; }, 50);
    }
    var focus = root.matches("[data-focus]") ? root : root.querySelector("[data-focus]");
    if (focus) { focus.focus(); }
  }
  document.addEventListener("htmx:afterSettle", function (event) {
    var root = event.target instanceof Element && event.target.isConnected ? event.target : document.body;
    draw(root);
    announce(root);
  });
  document.addEventListener("htmx:historyRestore", function () { draw(document); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { draw(document); });
  } else {
    draw(document);
  }
})();
