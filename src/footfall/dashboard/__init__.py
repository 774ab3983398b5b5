"""The dashboard: server-rendered HTML and SVG, enhanced by a small script."""
