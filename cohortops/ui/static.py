"""The dashboard's own stylesheet and script, served from the app (no CDN, no third-party code).

Colours are the Okabe–Ito palette, distinguishable with the common colour-vision deficiencies;
charts also differ by shape and direction (adds above the axis, removes below) and every chart
has its numbers in a table next to it.
"""

from __future__ import annotations

BLUE = "#0072B2"  # members, adds
ORANGE = "#E69F00"  # removes
VERMILLION = "#D55E00"  # failures
GREEN = "#009E73"  # success

CSS = f"""
:root {{ color-scheme: light; --fg: #1b1b1b; --muted: #555; --line: #d0d0d0; }}
* {{ box-sizing: border-box; }}
body {{ margin: 0; font: 15px/1.45 system-ui, sans-serif; color: var(--fg); background: #fff; }}
header {{ display: flex; gap: 2em; align-items: center; padding: .6em 1.2em;
  border-bottom: 1px solid var(--line); background: #f6f6f6; }}
header nav a {{ margin-right: 1.2em; }}
main {{ padding: 1em 1.2em 3em; max-width: 1200px; }}
h1 {{ font-size: 1.5em; margin: .2em 0 .6em; overflow-wrap: anywhere; }}
h2 {{ font-size: 1.15em; margin: 1.6em 0 .5em; }}
a {{ color: {BLUE}; }}
table {{ border-collapse: collapse; margin: .4em 0 1em; }}
th, td {{ border-bottom: 1px solid var(--line); padding: .3em .6em; text-align: left;
  vertical-align: top; overflow-wrap: break-word; }}
th {{ background: #f2f2f2; white-space: nowrap; }}
td code {{ overflow-wrap: anywhere; }}
td.num, th.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
caption {{ text-align: left; color: var(--muted); padding: .2em 0; }}
code, pre {{ font-family: ui-monospace, monospace; font-size: .92em; }}
pre {{ background: #f6f6f6; padding: .6em; overflow-x: auto; }}
dl {{ display: grid; grid-template-columns: max-content 1fr; gap: .2em 1em; }}
dt {{ color: var(--muted); }}
dd {{ margin: 0; overflow-wrap: anywhere; }}
.chart {{ display: flex; flex-wrap: wrap; gap: 1.5em; align-items: flex-start; }}
.chart figure {{ margin: 0; }}
.chart svg {{ border: 1px solid var(--line); background: #fff; }}
.scroll {{ max-height: 24em; overflow-y: auto; }}
.result-failed, .result-partial, .result-interrupted, .result-blocked, .bad {{
  color: {VERMILLION}; font-weight: 600; }}
.result-success, .good {{ color: {GREEN}; }}
.muted {{ color: var(--muted); }}
.badge {{ border: 1px solid currentColor; border-radius: 3px; padding: 0 .3em; font-size: .85em; }}
.live {{ border: 2px solid {BLUE}; padding: .6em 1em; margin: .6em 0 1em; }}
form input[type=text] {{ width: 28em; max-width: 100%; padding: .3em; }}
"""

# Polls /api/progress every 2 s while an apply runs and rewrites the #live box with text only
# (textContent, never innerHTML), so nothing the server returns can become markup.
LIVE_JS = """
(function () {
  var box = document.getElementById("live");
  if (!box) { return; }
  function show(data) {
    box.textContent = "";
    if (!data.applies.length) {
      box.appendChild(document.createTextNode("No apply is running."));
      box.setAttribute("data-running", "0");
      return;
    }
    box.setAttribute("data-running", String(data.applies.length));
    data.applies.forEach(function (a) {
      var p = document.createElement("p");
      p.textContent = "Apply " + a.apply_id + " by " + a.who + " since " + a.began_at +
        ": " + a.acknowledged.toLocaleString() + " of " + a.planned.toLocaleString() +
        " member changes acknowledged";
      box.appendChild(p);
    });
  }
  function poll() {
    fetch("/api/progress", {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) { if (d) { show(d); } })
      .catch(function () {})
      .finally(function () { setTimeout(poll, 2000); });
  }
  poll();
})();
"""
