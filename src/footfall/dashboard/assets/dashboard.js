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
    var label = target.getAttribute("data-label") || target.getAttribute("data-bucket");
    readout.textContent = label + ": " +
      Number(target.getAttribute("data-visitors")).toLocaleString("en-US") + " visitors, " +
      Number(target.getAttribute("data-pageviews")).toLocaleString("en-US") + " page views";
  }
  document.addEventListener("mouseover", show);
  document.addEventListener("focusin", show);
})();
