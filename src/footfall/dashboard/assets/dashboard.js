// footfall dashboard enhancements. Everything works without this script: it adds the live
// realtime count (Server-Sent Events) and a read-out of the chart point under the pointer.
(function () {
  "use strict";
  var realtime = document.getElementById("ff-realtime");
  if (realtime && window.EventSource) {
    var stream = new EventSource(realtime.getAttribute("data-stream"));
    stream.addEventListener("realtime", function (message) {
      var visitors = JSON.parse(message.data).visitors;
      realtime.textContent = visitors.toLocaleString("en-US");
    });
  }
  var readout = document.getElementById("ff-readout");
  function show(event) {
    var target = event.target;
    if (!readout || !target.getAttribute || !target.getAttribute("data-bucket")) return;
    // The point's own <title>, written by the server: one wording, plurals included.
    var title = target.querySelector("title");
    if (title) readout.textContent = title.textContent;
  }
  document.addEventListener("mouseover", show);
  document.addEventListener("focusin", show);
  // The chart is one Tab stop (the first point has tabindex 0, the others -1): the arrow
  // keys, Home and End move between its points, and the point left last keeps the stop.
  var moves = { ArrowLeft: -1, ArrowRight: 1, Home: -Infinity, End: Infinity };
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (!(event.key in moves) || !target.getAttribute || !target.getAttribute("data-bucket")) {
      return;
    }
    var points = Array.prototype.slice.call(target.parentNode.querySelectorAll(".ff-hit"));
    var index = points.indexOf(target) + moves[event.key];
    var next = points[Math.max(0, Math.min(points.length - 1, index))];
    event.preventDefault();
    target.setAttribute("tabindex", "-1");
    next.setAttribute("tabindex", "0");
    next.focus();
  });
})();
