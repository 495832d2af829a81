// Atrion Decision Dashboard: reads the state stream (events) and draws one
// card per route. No dependencies; every value is written with textContent.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const MODES = ["BOOTSTRAP", "OPERATIONAL", "RECOVERING", "CIRCUIT_OPEN"];
const series = new Map(); // route -> [{t, r, m}]
const cards = new Map(); // route -> card elements
let historyLen = 240;
let controls = false;

const $ = (id) => document.getElementById(id);

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  return e;
}

function fmt(x, d = 2) {
  return Number.isFinite(x) ? x.toFixed(d) : "–";
}

function rate(x) {
  return x >= 100 ? x.toFixed(0) : x.toFixed(1);
}

function metric(dl, label) {
  const div = el("div");
  div.append(el("dt", "", label));
  const dd = el("dd", "", "–");
  div.append(dd);
  dl.append(div);
  return dd;
}

// reason says in one line why a route is in its mode, for the operator:
// what the engine is doing about it. r is a route of the state stream.
function reason(r) {
  const shedding = r.rates.shed > 0;
  switch (r.mode) {
    case "CIRCUIT_OPEN":
      return "failing: the circuit is open; probes decide when it heals";
    case "RECOVERING":
      return "recovering: a growing share of calls passes while the route proves healthy";
    case "BOOTSTRAP":
      return "learning the route's baselines: nothing is shed yet";
  }
  if (r.r >= r.break) {
    // the circuit opens on evidence of failures only (SPEC: the controller view)
    if (r.pressure[1] <= 0) {
      return "R above break on latency alone: overload is met by the in-flight limit" +
        (shedding ? ", which is shedding" : "");
    }
    return "R above break: the circuit opens once failures are certain, not on R alone";
  }
  if (shedding) return "overloaded: shedding to the in-flight limit";
  return "healthy";
}

// pointsLabel names the break point in force and where it comes from.
function pointsLabel(r) {
  const from = r.tuner.enforced ? "learned" : "static";
  return `break in force ${fmt(r.break, 1)} (${from}) · recovery ${fmt(r.recovery, 1)}`;
}

// tunerLabel is the AutoTuner's state; its break is advisory unless enforced.
function tunerLabel(t) {
  const state = t.enforced ? "in force" : "advisory, not in force";
  return `learned break ${fmt(t.break, 1)} / recovery ${fmt(t.recovery, 1)} · ${state} · ` +
    `μ ${fmt(t.mean)} ± σ ${fmt(t.stddev)} over ${t.samples} healthy ticks`;
}

function makeCard(route) {
  const c = {};
  c.root = el("article", "route");
  c.root.dataset.route = route;
  const head = el("div", "route-head");
  c.name = el("span", "route-name", route);
  c.name.title = route;
  c.mode = el("span", "mode");
  head.append(c.name, c.mode);
  // what an operator acts on comes first: outcomes, the limit, the reason
  const lead = el("dl", "lead");
  c.served = metric(lead, "served /s");
  c.shed = metric(lead, "shed /s");
  c.inflight = metric(lead, "in flight / limit");
  c.fail = metric(lead, "failed /s");
  c.shed.className = "shed";
  c.fail.className = "fail";
  c.why = el("p", "why");
  const rl = el("div", "r-line");
  c.r = el("span", "r-value");
  c.points = el("span", "r-points");
  rl.append(c.r, c.points);
  c.svg = svg("svg", { class: "spark", viewBox: "0 0 400 90", preserveAspectRatio: "none", role: "img" });
  c.svg.setAttribute("aria-label", "resistance over time");
  const dl = el("dl", "metrics");
  c.scar = metric(dl, "scar S");
  c.momentum = metric(dl, "momentum M");
  c.pos = metric(dl, "‖P⁺‖");
  c.floor = metric(dl, "no-load latency");
  c.errs = metric(dl, "errors (window)");
  c.adm = metric(dl, "admitted /s");
  c.pressure = metric(dl, "pressure: latency / error / saturation");
  c.tuner = metric(dl, "AutoTuner");
  c.totals = metric(dl, "totals");
  for (const dd of [c.pressure, c.tuner, c.totals]) dd.parentElement.className = "wide";
  c.root.append(head, lead, c.why, rl, c.svg, dl);
  if (controls) {
    const b = el("button", "evict", "evict");
    b.type = "button";
    b.title = "forget this route's state (it restarts in BOOTSTRAP)";
    b.addEventListener("click", () => evict(route));
    const cfg = el("button", "evict", "config");
    cfg.type = "button";
    cfg.title = "change this route's configuration live (audited)";
    cfg.addEventListener("click", () => configure(route));
    head.append(cfg, b);
  }
  return c;
}

function drawSpark(c, pts, brk, rec) {
  const W = 400, H = 90, pad = 4;
  while (c.svg.firstChild) c.svg.firstChild.remove();
  if (pts.length === 0) return;
  let top = Math.max(brk * 1.15, 20);
  for (const p of pts) top = Math.max(top, p.r * 1.05);
  const t0 = pts[0].t, t1 = Math.max(pts[pts.length - 1].t, t0 + 1);
  const x = (t) => ((t - t0) / (t1 - t0)) * W;
  const y = (r) => H - pad - (Math.max(0, r) / top) * (H - 2 * pad);
  // shade the time spent outside OPERATIONAL
  let i = 0;
  while (i < pts.length) {
    const m = pts[i].m;
    let j = i;
    while (j + 1 < pts.length && pts[j + 1].m === m) j++;
    if (m !== 1) {
      const x0 = x(pts[i].t), x1 = j + 1 < pts.length ? x(pts[j + 1].t) : W;
      c.svg.append(svg("rect", { class: "band-" + m, x: x0, y: 0, width: Math.max(1, x1 - x0), height: H }));
    }
    i = j + 1;
  }
  c.svg.append(svg("line", { class: "brk", x1: 0, x2: W, y1: y(brk), y2: y(brk) }));
  c.svg.append(svg("line", { class: "rec", x1: 0, x2: W, y1: y(rec), y2: y(rec) }));
  const lbl = svg("text", { x: 3, y: Math.max(9, y(brk) - 2) });
  lbl.textContent = "break in force " + fmt(brk, 0);
  c.svg.append(lbl);
  const d = pts.map((p, k) => (k ? "L" : "M") + x(p.t).toFixed(1) + " " + y(p.r).toFixed(1)).join("");
  c.svg.append(svg("path", { class: "r", d: pts.length === 1 ? d + "h1" : d }));
}

function render(st) {
  historyLen = st.historyLen || historyLen;
  if (st.controls !== controls) {
    controls = st.controls;
    $("controls").hidden = !controls;
    for (const c of cards.values()) c.root.remove();
    cards.clear();
  }
  if (st.title) {
    $("title").textContent = st.title;
    document.title = st.title;
  }
  const now = Date.parse(st.time);
  $("updated").textContent = "updated " + new Date(now).toLocaleTimeString();
  const e = st.engine || {};
  $("engine").textContent = `routes ${e.Routes ?? 0} · overflow hits ${e.OverflowHits ?? 0} · observer drops ${e.ObserverDrops ?? 0}`;

  const box = $("routes");
  const seen = new Set();
  for (const r of st.routes) {
    seen.add(r.route);
    let pts = series.get(r.route);
    if (r.history) {
      pts = r.history.slice();
    } else {
      pts = pts || [];
      const last = pts[pts.length - 1];
      if (!last || last.t < now) pts.push({ t: now, r: r.r, m: MODES.indexOf(r.mode) });
    }
    if (pts.length > historyLen) pts.splice(0, pts.length - historyLen);
    series.set(r.route, pts);

    let c = cards.get(r.route);
    if (!c) {
      c = makeCard(r.route);
      cards.set(r.route, c);
    }
    box.append(c.root); // keeps the server's order
    c.root.dataset.mode = r.mode;
    c.mode.textContent = r.mode;
    c.mode.className = "mode mode-" + r.mode;
    c.served.textContent = rate(r.rates.served ?? 0);
    c.why.textContent = reason(r);
    c.why.dataset.alert = r.mode === "OPERATIONAL" && r.r < r.break && !(r.rates.shed > 0) ? "" : "1";
    c.r.textContent = "R " + fmt(r.r);
    c.points.textContent = pointsLabel(r);
    c.scar.textContent = fmt(r.scar);
    c.momentum.textContent = fmt(r.momentum, 3);
    c.pos.textContent = fmt(r.posNorm);
    c.inflight.textContent = r.limit > 0 ? `${fmt(r.inflight, 0)} / ${fmt(r.limit, 0)}` : fmt(r.inflight, 0);
    c.floor.textContent = r.floorMs > 0 ? `${fmt(r.floorMs, 1)} ms` : "learning";
    c.errs.textContent = `${fmt(100 * r.errorRate, 1)} %`;
    c.pressure.textContent = r.pressure.map((p) => fmt(p)).join(" / ");
    c.adm.textContent = rate(r.rates.admitted);
    c.shed.textContent = rate(r.rates.shed);
    c.fail.textContent = rate(r.rates.failed);
    const t = r.tuner;
    c.tuner.textContent = tunerLabel(t);
    c.totals.textContent = `${r.totals.admitted} admitted · ${r.totals.shed} shed · ${r.totals.failures} failed · ${r.ticks} ticks`;
    drawSpark(c, pts, r.break, r.recovery);
  }
  for (const [route, c] of cards) {
    if (!seen.has(route)) {
      c.root.remove();
      cards.delete(route);
      series.delete(route);
    }
  }
  const empty = box.querySelector(".empty");
  if (empty && st.routes.length) empty.remove();

  const o = st.others || {};
  const others = $("others");
  others.hidden = !o.routes;
  if (o.routes) {
    const modes = Object.entries(o.modes || {}).map(([m, n]) => `${n} ${m}`).join(", ");
    others.textContent = `and ${o.routes} more routes, not shown (the ${st.routes.length} of highest R are): ` +
      `${modes} · highest R ${fmt(o.maxR)} · admitted ${rate(o.rates.admitted)}/s · shed ${rate(o.rates.shed)}/s · failed ${rate(o.rates.failed)}/s`;
  }

  const tb = $("transitions");
  const rows = [];
  for (const tr of st.transitions || []) {
    const row = el("tr");
    row.append(
      el("td", "", new Date(Date.parse(tr.time)).toLocaleTimeString()),
      el("td", "route-name", tr.route),
      el("td", "", tr.from),
      el("td", "", "→"),
      el("td", "to-" + tr.to, tr.to),
      el("td", "num", fmt(tr.r)),
      el("td", "num", fmt(tr.scar)),
    );
    rows.push(row);
  }
  if (rows.length) tb.replaceChildren(...rows);
}

// control POSTs body to a control endpoint with the token, reporting
// the answer in the control line.
async function control(path, body, done) {
  const msg = $("control-msg");
  const token = $("token").value;
  if (!token && !me.signedIn) {
    msg.textContent = "enter the control token first";
    return;
  }
  // signed in, the session cookie carries the person; the token is for
  // whoever has it instead
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = "Bearer " + token;
  try {
    const res = await fetch(path, { method: "POST", headers, body: JSON.stringify(body) });
    const answer = await res.json().catch(() => ({}));
    msg.textContent = res.ok ? done : "refused: " + (answer.error || res.status);
  } catch (err) {
    msg.textContent = "failed: " + err;
  }
}

function evict(route) {
  return control("api/evict", { route }, "evicted " + route);
}

// configure asks for a route's configuration (the route part of the
// engine's configuration file) and applies it live.
function configure(route) {
  const text = prompt(`Configuration for ${route} (JSON: slo, physics, autoTuner), applied at its next tick:`,
    '{"physics": {"breakMultiplier": 10}}');
  if (text === null) return;
  let config;
  try {
    config = JSON.parse(text);
  } catch (err) {
    $("control-msg").textContent = "not JSON: " + err.message;
    return;
  }
  return control("api/config", { route, config }, "updated " + route);
}

// takeToken moves a read token given as "#token=..." into the cookie the
// dashboard reads (an EventSource cannot send headers), and out of the
// address bar.
function takeToken() {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!m) return;
  const dir = location.pathname.replace(/[^/]*$/, "");
  const secure = location.protocol === "https:" ? "; Secure" : "";
  document.cookie = `atrdash_token=${m[1]}; path=${dir}; SameSite=Strict${secure}`;
  history.replaceState(null, "", location.pathname + location.search);
}

function connect() {
  const status = $("status");
  const es = new EventSource("events");
  es.onopen = () => {
    status.textContent = "live";
    status.className = "status status-live";
  };
  es.onerror = async () => {
    status.textContent = "reconnecting…";
    status.className = "status status-lost";
    const res = await fetch("api/state", { method: "HEAD" }).catch(() => null);
    if (res && res.status === 401) {
      status.textContent = me.login ? "sign in to read the dashboard" : "needs the read token: open this page as …/#token=<token>";
    } else if (res && res.status === 403) {
      status.textContent = "signed in without a role on this dashboard";
    }
  };
  es.onmessage = (ev) => {
    try {
      render(JSON.parse(ev.data));
    } catch (err) {
      console.error("atrion dashboard:", err);
    }
  };
}

// me is who the page is signed in as (single sign-on), from api/whoami.
let me = { signedIn: false, login: false };

async function whoami() {
  const res = await fetch("api/whoami").catch(() => null);
  if (!res || !res.ok) return;
  me = await res.json();
  $("who").hidden = !me.signedIn;
  $("who").textContent = me.signedIn ? `signed in as ${me.name} (${me.role})` : "";
  $("signin").hidden = me.signedIn || !me.login;
  $("signout").hidden = !me.signOut;
  // a person signed in acts as themself: the token is for those who are not
  $("token").parentElement.hidden = me.signedIn;
}

$("signout").addEventListener("click", async () => {
  await fetch("logout", { method: "POST" }).catch(() => null);
  location.reload();
});
$("controls").addEventListener("submit", (e) => e.preventDefault());
takeToken();
whoami().finally(connect);
