// The <script> build: options are the tag's data-* attributes, and events go to the footfall
// server the script was loaded from (or to data-api). Calls queued by the stub
//   window.footfall = window.footfall || {q: [], track: function () { footfall.q.push(arguments) }}
// are sent after the first page view. A second copy of the script does nothing.
var script = document.currentScript;
var stub = window.footfall;
if (!stub || stub.q) {
  get = (name) => script.getAttribute("data-" + name);
  api = get("api") || new URL("event", script.src);
  track.track = window.footfall = track;
  track.on = on; // for links.js
  start();
  if (on("outbound-links") || on("file-downloads"))
    document.head.append(
      Object.assign(document.createElement("script"), { src: new URL("links.js", script.src) })
    );
  stub?.q.map((call) => track(...call));
}
