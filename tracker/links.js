// The opt-in "Outbound Link: Click" (data-outbound-links: links to other hosts) and "File
// Download" (data-file-downloads: links to files) events. Part of the ES module; for the
// <script> build, a file of its own that footfall.js loads only when one is on.
var link = (event) => {
  var target = event.button < 2 && event.target.closest?.("a[href]");
  var name;
  if (!target) return;
  if (on("file-downloads") && /\.(pdf|docx?|xlsx?|pptx?|csv|zip|gz|dmg|exe|apk|mp[34])$/i.test(target.pathname))
    name = "File Download";
  else if (on("outbound-links") && /^http/.test(target.protocol) && target.host != location.host)
    name = "Outbound Link: Click";
  if (name) track(name, { url: target.href });
};
