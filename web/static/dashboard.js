"use strict";

// Draws the security dashboard from GET /v1/admin/dashboard/series as
// inline SVG, one chart per group of series, and refreshes every minute.
// Counters are shown per step (attempts per minute, per five minutes or per
// hour), gauges as sampled.

const CHARTS = [
  { id: "auth_failures", title: "Failed authentication attempts", series: [["auth_failures", "attempts"]] },
  { id: "rate_limited", title: "Rejected requests", series: [["rate_limited", "rate limit"], ["edge_rejections", "edge filter"]] },
  { id: "key_usage", title: "Key usage", series: [["key_usage", "operations"]] },
  { id: "requests", title: "Requests", series: [["requests", "requests"]] },
  { id: "findings", title: "Open findings by severity", series: [["findings_high", "high"], ["findings_medium", "medium"], ["findings_low", "low"]] },
  { id: "dead_letters", title: "Dead-letter queue depth", series: [["dead_letters", "messages"]] },
  { id: "dead_letter_age", title: "Oldest dead letter (seconds)", series: [["dead_letter_oldest_age_seconds", "age"]] },
  { id: "queue_depth", title: "Queue depth", series: [["queue_depth", "messages"]] },
  { id: "cache_hit_ratio", title: "Data-key cache hit ratio", series: [["data_key_cache_hit_ratio", "hit ratio"]] },
];

const SVG = "http://www.w3.org/2000/svg";
const W = 480, H = 170, PAD_L = 44, PAD_R = 10, PAD_T = 10, PAD_B = 22;

let current = "hour";
let latest = null;

function el(name, attrs, text) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function fmtTime(d, stepSeconds) {
  if (stepSeconds >= 3600) return d.toLocaleDateString(undefined, { month: "short", day: "numeric" });
  return d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}

function fmtNumber(v) {
  if (v >= 1000) return (v / 1000).toFixed(v >= 10000 ? 0 : 1) + "k";
  if (v > 0 && v < 10 && !Number.isInteger(v)) return v.toFixed(2);
  return String(Math.round(v));
}

// chart returns an SVG element plotting each series of spec over range r.
function chart(spec, r, generatedAt) {
  const step = r.step_seconds * 1000;
  const end = Math.floor(generatedAt / step) * step;
  const start = end - (r.capacity - 1) * step;
  let ymax = 0;
  for (const [name] of spec.series) {
    for (const p of r.points) ymax = Math.max(ymax, p.v[name] || 0);
  }
  ymax = ymax > 0 ? ymax * 1.1 : 1;
  const x = (t) => PAD_L + ((t - start) / Math.max(end - start, 1)) * (W - PAD_L - PAD_R);
  const y = (v) => H - PAD_B - (v / ymax) * (H - PAD_T - PAD_B);

  const svg = el("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": spec.title, "data-chart": spec.id });
  svg.appendChild(el("line", { class: "axis", x1: PAD_L, y1: H - PAD_B, x2: W - PAD_R, y2: H - PAD_B }));
  svg.appendChild(el("line", { class: "axis", x1: PAD_L, y1: PAD_T, x2: PAD_L, y2: H - PAD_B }));
  svg.appendChild(el("text", { class: "label", x: PAD_L - 4, y: PAD_T + 8, "text-anchor": "end" }, fmtNumber(ymax)));
  svg.appendChild(el("text", { class: "label", x: PAD_L - 4, y: H - PAD_B, "text-anchor": "end" }, "0"));
  svg.appendChild(el("text", { class: "label", x: PAD_L, y: H - 6 }, fmtTime(new Date(start), r.step_seconds)));
  svg.appendChild(el("text", { class: "label", x: W - PAD_R, y: H - 6, "text-anchor": "end" }, fmtTime(new Date(end), r.step_seconds)));

  spec.series.forEach(([name], i) => {
    const pts = r.points.filter((p) => name in p.v).map((p) => [Date.parse(p.t), p.v[name]]);
    if (pts.length === 0) return;
    let d = "";
    pts.forEach(([t, v], j) => {
      d += (j === 0 ? "M" : "L") + x(t).toFixed(1) + " " + y(v).toFixed(1) + " ";
    });
    if (pts.length === 1) d += "h2";
    svg.appendChild(el("path", { class: "line s" + i, d: d.trim(), "data-series": name, "data-points": pts.length }));
  });
  return svg;
}

function render() {
  const main = document.getElementById("charts");
  main.replaceChildren();
  if (!latest) return;
  const r = latest.ranges.find((x) => x.name === current);
  const generatedAt = Date.parse(latest.generated_at);
  for (const spec of CHARTS) {
    const card = document.createElement("section");
    card.className = "card";
    const h = document.createElement("h2");
    h.textContent = spec.title;
    card.appendChild(h);
    const legend = document.createElement("div");
    legend.className = "legend";
    spec.series.forEach(([name, label], i) => {
      const s = document.createElement("span");
      s.className = "s" + i;
      const last = r.points.length ? r.points[r.points.length - 1].v[name] : undefined;
      s.textContent = label + (last === undefined ? "" : ": " + fmtNumber(last));
      legend.appendChild(s);
    });
    card.appendChild(legend);
    card.appendChild(chart(spec, r, generatedAt));
    main.appendChild(card);
  }
}

async function load() {
  const status = document.getElementById("status");
  try {
    const resp = await fetch("/v1/admin/dashboard/series", { credentials: "same-origin" });
    if (resp.status === 401) {
      window.location.assign("/ui/login");
      return;
    }
    if (!resp.ok) {
      const data = await resp.json().catch(() => ({}));
      status.textContent = (data.error && data.error.message) || "cannot load the series: " + resp.status;
      return;
    }
    latest = await resp.json();
    status.textContent = "Updated " + new Date(latest.generated_at).toLocaleTimeString();
    render();
    document.body.dataset.loaded = "true";
  } catch (e) {
    status.textContent = "the server cannot be reached: retrying in a minute";
  }
}

document.getElementById("ranges").addEventListener("click", (ev) => {
  const b = ev.target.closest("button[data-range]");
  if (!b) return;
  current = b.dataset.range;
  for (const x of document.querySelectorAll("#ranges button")) x.setAttribute("aria-pressed", String(x === b));
  render();
});

document.getElementById("logout").addEventListener("click", async () => {
  const s = await fetch("/v1/session", { credentials: "same-origin" }).then((r) => r.json()).catch(() => ({}));
  await fetch("/v1/logout", { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": s.csrf_token || "" } }).catch(() => {});
  window.location.assign("/ui/login");
});

load();
setInterval(load, 60000);
