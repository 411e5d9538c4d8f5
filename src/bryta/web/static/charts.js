// Draw every figure a page embeds as <script type="application/json" data-plot="ID">: the
// figure (built in Python with plotly) goes into the element with that id. Without
// JavaScript the page's tables carry the same numbers.
(function () {
  "use strict";
  function draw() {
    if (typeof Plotly === "undefined") { return; }
    document.querySelectorAll('script[type="application/json"][data-plot]').forEach(function (node) {
      var target = document.getElementById(node.dataset.plot);
      if (!target) { return; }
      var figure = JSON.parse(node.textContent);
      target.textContent = "";
      Plotly.newPlot(target, figure.data, figure.layout, {
        responsive: true,
        displaylogo: false,
        scrollZoom: false
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
