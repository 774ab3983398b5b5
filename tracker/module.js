// The ES module for bundlers:
//   import { init, track } from "footfall/tracker/footfall.mjs";
//   init({ api: "https://stats.example.com/api/data/analytics/event" });
//   track("Signup", { plan: "pro" }, { interactive: true });
// init() takes api (default: this site's /api/data/analytics/event) and the options of the
// script tag in camelCase: hash, includeLocalhost, outboundLinks, fileDownloads and
// initialPageview (false when the server counted the page being loaded). track() calls made
// before init() are sent once it has run.
var queue = [];

export function init(options = {}) {
  if (!queue) return; // already started
  api = options.api || "/api/data/analytics/event";
  // As the attribute would spell it: "true", "false" or "undefined" (off).
  get = (name) => "" + options[name.replace(/-(.)/g, (_, letter) => letter.toUpperCase())];
  start();
  listen("click auxclick", link);
  queue.map((call) => track(...call));
  queue = null;
}

function queued(name, props, options) {
  queue ? queue.push([name, props, options]) : track(name, props, options);
}

export { queued as track };
