// links.js for the <script> build: footfall.js has loaded it, and lends it its track() and
// options (footfall.on).
var track = window.footfall;
var on = track.on;
addEventListener("click", link, true);
addEventListener("auxclick", link, true);
