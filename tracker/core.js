// The footfall browser tracker: one implementation, wrapped by script.js (the <script> build)
// and module.js (the ES module); build.py joins them and minifies with terser.
//
// Privacy: no cookies, no storage writes, no identifiers. Each event carries only the page's
// URL, its referrer, the event name and its properties; the server derives the rest.

// Set by the wrapper before start(): the event endpoint's URL (a string or a URL), and
// get(name), an option's value as the script tag's data-* attribute spells it:
//   hash               count /#/a and /#/b as two pages (hash routing)
//   include-localhost  also count on localhost, 127.x.x.x and file:, and automated
//                      browsers (development)
//   outbound-links     send "Outbound Link: Click" for links to other hosts
//   file-downloads     send "File Download" for links to files
//   initial-pageview   "false": the server already counted the page being loaded
// "" (the attribute alone) and "true" mean on.
var api, get;
var on = (name) => /^(true)?$/.test(get(name));

var lastPage; // path (plus hash in hash mode) last counted, so a page counts once
var lastUrl; // full URL of that page: the referrer of the next SPA page view
var referrer = document.referrer;

// The short keys are the ones Plausible's tracker sends, which the server also accepts.
function track(name, props, options) {
  var skip;
  var body = JSON.stringify({
    n: name,
    u: location.href,
    r: referrer,
    p: props,
    i: options && options.interactive, // left out (true) unless given
    h: on("hash"), // the server keeps the hash in the path
  });
  try {
    // Automated browsers, development machines (localhost, 127.x.x.x, [::1] and file:,
    // whose host name is empty) and site owners who opted out are not visitors;
    // include-localhost (development) counts the first two. The console says why nothing
    // was sent. Storage that the browser blocks throws: then nobody can have opted out
    // through it, and the fetch below sends the event.
    skip =
      (!on("include-localhost") &&
        (navigator.webdriver
          ? "webdriver"
          : /^(localhost|127\.|\[::1]|$)/.test(location.hostname) && "localhost")) ||
      (localStorage.footfall_ignore == "true" && "footfall_ignore");
    if (skip) return console.info("footfall ignores", skip);
    // A beacon survives the page being closed; fetch with keepalive is the fallback.
    if (navigator.sendBeacon(api, body)) return;
  } catch (e) {}
  fetch(api, { method: "POST", body: body, keepalive: true }).catch(() => {});
}

// Count the current page once per real change of path; a hidden or prerendered page waits
// until it is shown (visibilitychange and prerenderingchange call this again).
var page = (silently) => {
  var key = location.pathname + (on("hash") ? location.hash : "");
  if (key == lastPage || (!silently && (document.hidden || document.prerendering))) return;
  if (lastPage != null) referrer = lastUrl; // an SPA navigation: the previous page refers
  lastPage = key;
  lastUrl = location.href;
  silently || track("pageview");
};

// Declarative events (data-footfall-event, data-footfall-prop-*) and the opt-in outbound-link
// and file-download events. Listening on window in the capture phase also sees the clicks
// that the page's own handlers stop.
var click = (event) => {
  var target = event.target;
  var submit = event.type == "submit";
  var element, link, name;
  var props = {};
  if (event.button > 1) return; // a right click
  element = target.closest?.("[data-footfall-event]");
  // A form's event is sent when it is submitted, not when one of its buttons is clicked.
  if (element && submit == (element.tagName == "FORM")) {
    for (var attribute of element.attributes)
      if (!attribute.name.indexOf("data-footfall-prop-"))
        props[attribute.name.slice(19)] = attribute.value;
    track(element.getAttribute("data-footfall-event"), props);
  }
  link = !submit && target.closest?.("a[href]");
  if (!link) return;
  if (on("file-downloads") && /\.(pdf|docx?|xlsx?|pptx?|csv|zip|gz|dmg|exe|apk|mp[34])$/i.test(link.pathname))
    name = "File Download";
  else if (on("outbound-links") && /^http/.test(link.protocol) && link.host != location.host)
    name = "Outbound Link: Click";
  if (name) track(name, { url: link.href });
};

var listen = (events, handler) =>
  events.split(" ").map((type) => addEventListener(type, handler, true));

var start = () => {
  ["pushState", "replaceState"].map((method) => {
    var original = history[method];
    history[method] = function () {
      original.apply(this, arguments); // returns nothing
      page();
    };
  });
  listen("popstate visibilitychange prerenderingchange", () => page());
  listen("click auxclick submit", click);
  page(get("initial-pageview") == "false");
};
