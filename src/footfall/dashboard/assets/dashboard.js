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
})();
