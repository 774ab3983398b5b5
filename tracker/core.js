// The footfall browser tracker: one implementation, wrapped by script.js (the <script> build)
// and module.js (the ES module); build.py joins them and minifies with terser.
//
// Privacy: no cookies, no storage writes, no identifiers. Each event carries only the page's
// URL, its referrer, the event name and its properties; the server derives the rest. When a
// page is hidden or left, "engagement" says how long it was visible and focused and how far
// it was scrolled (as Plausible's tracker does): no event, it adds to the page's view.

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

var lastPage; // path (plus hash in hash mode; never "") last counted, so a page counts once
var lastUrl; // full URL of that page: the referrer of the next SPA page view
var referrer = document.referrer;
var engaged = 0; // ms the page counted last was visible and focused, not reported yet
var since; // when its current visible and focused stretch began (false: it is not)
var depth = 0; // its deepest scroll so far, in percent of its height

// The short keys are the ones Plausible's tracker sends, which the server also accepts;
// extra adds (or replaces) keys.
function track(name, props, options, extra) {
  var skip;
  var body = JSON.stringify({
    n: name,
    u: location.href,
    r: referrer,
    p: props,
    i: options && options.interactive, // left out (true) unless given
    h: on("hash"), // the server keeps the hash in the path
    ...extra,
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
  } catch (e) {}
  // A beacon survives the page being closed.
  navigator.sendBeacon(api, body);
}

// Ends or begins a stretch of engaged time, and notes how far down the page the bottom of
// the window has been.
// The server rounds the depth and caps it at 100.
var measure = (now, seen) => {
  now = Date.now();
  engaged += since && now - since;
  since = document.hasFocus() && now; // a hidden page has no focus
  seen = ((scrollY + innerHeight) * 100) / document.documentElement.scrollHeight;
  if (seen > depth) depth = seen;
};

// Report the engagement of the page counted last, if it was engaged since the last report:
// when the page is hidden (or left: that hides it too), and before the next page of a
// single-page app.
var engage = () => {
  measure();
  if (lastPage && engaged) track("engagement", 0, 0, { u: lastUrl, e: engaged, sd: depth });
  engaged = 0;
};

// Count the current page once per real change of path; a hidden or prerendered page waits
// until it is shown (visibilitychange and prerenderingchange call this again). Called on
// scroll, focus and blur too, to measure the engagement.
var page = (silently) => {
  var key = location.pathname + (on("hash") ? location.hash : "");
  key != lastPage || document.hidden ? engage() : measure();
  if (key == lastPage || (!silently && (document.hidden || document.prerendering))) return;
  if (lastPage) referrer = lastUrl; // an SPA navigation: the previous page refers
  lastPage = key;
  lastUrl = location.href;
  depth = 0;
  silently || track("pageview");
  measure();
};

// Declarative events (data-footfall-event, data-footfall-prop-*). Listening on window in the
// capture phase also sees the clicks that the page's own handlers stop.
var click = (event) => {
  var submit = event.type == "submit";
  var element = !(event.button > 1) && event.target.closest?.("[data-footfall-event]");
  var props = {};
  // A form's event is sent when it is submitted, not when one of its buttons is clicked.
  if (element && submit == (element.tagName == "FORM")) {
    for (var attribute of element.attributes)
      if (!attribute.name.indexOf("data-footfall-prop-"))
        props[attribute.name.slice(19)] = attribute.value;
    track(element.dataset.footfallEvent, props);
  }
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
  listen("popstate visibilitychange prerenderingchange scroll focus blur", () => page());
  listen("click auxclick submit", click);
  page(get("initial-pageview") == "false");
};
