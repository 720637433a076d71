// A call's timeline as SVG: a lane per leg (the caller's inbound leg, the app user's leg) with
// spans for ringing and talking, a mark for every webhook at its time, and the NCCO's actions
// (talk, connect) where they ran. Colours are attributes, not CSS, so a downloaded file looks
// the same on its own.

const NS = "http://www.w3.org/2000/svg";
const FONT = "system-ui, -apple-system, 'Segoe UI', sans-serif";
const ENDED = new Set(["completed", "rejected", "busy", "timeout", "cancelled", "failed", "unanswered"]);
const FAILED = new Set(["rejected", "busy", "timeout", "cancelled", "failed", "unanswered", "error"]);
const COLOUR = {
  ring: "#d4a72c",
  talk: "#1a7f37",
  answered: "#1a7f37",
  completed: "#6e7781",
  failed: "#cf222e",
  answer: "#0969da",
  other: "#8250df",
  grid: "#d0d7de",
  text: "#1f2328",
  muted: "#656d76",
};
const LABEL_W = 168;
const AXIS_H = 26;
const NCCO_H = 26;
const LANE_H = 46;
const PAD = 14;

/** Milliseconds since the epoch of an ISO timestamp (NaN when it is not one). */
export function when(iso) {
  return Date.parse(iso);
}

/** A webhook's time: an event's own timestamp (the platform's clock), else its arrival. */
export function eventTime(item) {
  const t = when(item.event.timestamp);
  return Number.isNaN(t) ? when(item.received_at) : t;
}

function el(name, attrs = {}, text) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function titled(node, text) {
  node.append(el("title", {}, text));
  return node;
}

function markColour(status) {
  if (status === "ringing" || status === "started") return COLOUR.ring;
  if (status === "answered") return COLOUR.answered;
  if (status === "completed") return COLOUR.completed;
  if (FAILED.has(status)) return COLOUR.failed;
  return COLOUR.other;
}

/** The legs of a call in the order they were first seen: uuid, direction, from, to, and each
 * event (error reports belong to no leg: they go to the caller's). */
export function legsOf(events) {
  const legs = new Map();
  for (const item of events) {
    const e = item.event;
    if (e.status === "error" || !e.uuid) continue;
    if (!legs.has(e.uuid)) legs.set(e.uuid, { uuid: e.uuid, direction: e.direction, from: e.from, to: e.to, events: [] });
    const leg = legs.get(e.uuid);
    leg.direction = leg.direction || e.direction;
    leg.events.push(item);
  }
  return [...legs.values()];
}

function legLabel(leg) {
  if (leg.direction === "inbound") return ["Caller", `${(leg.from || "?").trim()} · inbound`];
  if (leg.direction === "outbound") return [leg.to || "App user", "app user · outbound"];
  return ["Leg", leg.direction || "?"];
}

/** Where each span of a leg begins and ends: ringing until answered (or how it ended), then
 * talking until completed; ``now`` closes one still open. */
function spans(leg, now) {
  const out = [];
  const first = leg.events.find((i) => i.event.status === "ringing" || i.event.status === "started");
  const answered = leg.events.find((i) => i.event.status === "answered");
  const ended = leg.events.find((i) => ENDED.has(i.event.status));
  if (first) {
    const stop = answered || ended;
    out.push({ kind: "ringing", from: eventTime(first), to: stop ? eventTime(stop) : now, open: !stop });
  }
  if (answered) {
    out.push({ kind: "talking", from: eventTime(answered), to: ended ? eventTime(ended) : now, open: !ended });
  }
  return out;
}

/** The NCCO's actions where they ran: talk from the caller's answer until the next action,
 * connect from the app leg's first event until that leg ended. */
function actions(ncco, legs, now) {
  if (!Array.isArray(ncco)) return [];
  const inbound = legs.find((l) => l.direction === "inbound");
  const appLegs = legs.filter((l) => l.direction === "outbound");
  const start = inbound && inbound.events.find((i) => i.event.status === "answered");
  const inboundEnd = inbound && inbound.events.find((i) => ENDED.has(i.event.status));
  if (!start) return [];
  const out = [];
  let cursor = eventTime(start);
  let nextLeg = 0;
  for (const action of ncco) {
    const name = action && action.action;
    if (name === "connect") {
      const leg = appLegs[nextLeg++];
      if (!leg) break;
      const from = eventTime(leg.events[0]);
      const end = leg.events.find((i) => ENDED.has(i.event.status));
      if (out.length && out[out.length - 1].open) Object.assign(out[out.length - 1], { to: from, open: false });
      const who = (action.endpoint || []).map((e) => e.user || e.number || e.type).join(", ");
      out.push({ name: `connect → ${who || "?"}`, from, to: end ? eventTime(end) : now, open: !end });
      cursor = end ? eventTime(end) : now;
    } else if (name === "talk") {
      out.push({ name: "talk", text: action.text, from: cursor, to: inboundEnd ? eventTime(inboundEnd) : now, open: true });
    }
  }
  for (const a of out) if (a.open && inboundEnd) a.open = false;
  return out;
}

function niceStep(ms) {
  for (const s of [100, 200, 500, 1000, 2000, 5000, 10000, 15000, 30000, 60000, 120000, 300000, 600000]) {
    if (ms / s <= 9) return s;
  }
  return 1800000;
}

function seconds(ms, step) {
  const s = ms / 1000;
  return step < 1000 ? `${s.toFixed(1)} s` : s >= 60 && step >= 60000 ? `${s / 60} min` : `${s} s`;
}

/**
 * The timeline of one call as an <svg> element.
 * call: {answers: [...], events: [{id, received_at, event}], call: {ended, conversation_uuid}}
 * width: the drawing's width in pixels; now: the time open spans run to (ms since the epoch).
 */
export function drawTimeline(call, { width = 760, now = Date.now() } = {}) {
  const legs = legsOf(call.events);
  const answers = call.answers || [];
  const times = [
    ...answers.map((a) => when(a.received_at)),
    ...call.events.map(eventTime),
  ].filter((t) => !Number.isNaN(t));
  const live = !(call.call && call.call.ended);
  const t0 = Math.min(...times);
  const t1 = Math.max(...times, live ? now : -Infinity);
  const span = Math.max(t1 - t0, 1000);
  // Room on the right for the last tick's label.
  const plotW = width - LABEL_W - PAD - 40;
  const x = (t) => LABEL_W + PAD + ((t - t0) / span) * plotW;
  const ncco = answers.filter((a) => a.status === 200).map((a) => parse(a.response)).find(Array.isArray);
  const acts = actions(ncco, legs, t1);
  const nccoRow = acts.length ? NCCO_H : 0;
  const height = AXIS_H + nccoRow + Math.max(legs.length, 1) * LANE_H + PAD;

  const svg = el("svg", {
    xmlns: NS,
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    class: "timeline",
    role: "img",
    "font-family": FONT,
    "font-size": 12,
    "aria-label": `Timeline of ${call.call ? call.call.conversation_uuid : "the call"}`,
  });
  svg.append(el("rect", { x: 0, y: 0, width, height, fill: "#ffffff" }));

  // The axis: a tick every "nice" step, labelled in seconds from the first webhook.
  const step = niceStep(span);
  const axis = el("g", { class: "axis" });
  for (let t = 0; t <= span + 1; t += step) {
    const tx = x(t0 + t);
    axis.append(el("line", { x1: tx, y1: AXIS_H - 6, x2: tx, y2: height - PAD / 2, stroke: COLOUR.grid, "stroke-width": 1 }));
    axis.append(el("text", { x: tx, y: AXIS_H - 10, "text-anchor": "middle", fill: COLOUR.muted }, `+${seconds(t, step)}`));
  }
  svg.append(axis);

  let y = AXIS_H;
  if (acts.length) {
    const row = el("g", { class: "ncco" });
    row.append(el("text", { x: PAD, y: y + 17, fill: COLOUR.muted, "font-weight": 600 }, "NCCO"));
    for (const a of acts) {
      const ax = x(a.from);
      const w = Math.max(x(a.to) - ax, 3);
      const colour = a.name === "talk" ? COLOUR.other : COLOUR.answer;
      const g = titled(el("g", { class: "ncco-action", "data-action": a.name.split(" ")[0] }), a.text ? `talk: “${a.text}”` : a.name);
      g.append(el("rect", { x: ax, y: y + 5, width: w, height: 16, rx: 3, fill: colour, "fill-opacity": 0.14, stroke: colour, "stroke-width": 1 }));
      // A label goes where it fits (an instant action keeps its tooltip).
      if (w > a.name.length * 6.5 + 10) g.append(el("text", { x: ax + 6, y: y + 17, fill: colour, "font-size": 11 }, a.name));
      row.append(g);
    }
    svg.append(row);
    y += NCCO_H;
  }

  // One lane per leg: its label, its spans, then a mark for each of its webhooks.
  const laneY = new Map();
  legs.forEach((leg, i) => {
    const top = y + i * LANE_H;
    laneY.set(leg.uuid, top);
    const lane = el("g", { class: "lane", "data-leg": leg.uuid, "data-direction": leg.direction || "" });
    if (i % 2 === 0) lane.append(el("rect", { x: 0, y: top, width, height: LANE_H, fill: "#f6f8fa" }));
    const [title, sub] = legLabel(leg);
    lane.append(el("text", { x: PAD, y: top + 19, fill: COLOUR.text, "font-weight": 600 }, title));
    lane.append(titled(el("text", { x: PAD, y: top + 35, fill: COLOUR.muted, "font-size": 11 }, sub), leg.uuid));
    for (const s of spans(leg, t1)) {
      const sx = x(s.from);
      const colour = s.kind === "ringing" ? COLOUR.ring : COLOUR.talk;
      const secs = ((s.to - s.from) / 1000).toFixed(1);
      const bar = titled(
        el("rect", { class: `span ${s.kind}`, x: sx, y: top + 14, width: Math.max(x(s.to) - sx, 2), height: 18, rx: 4, fill: colour, "fill-opacity": 0.22, stroke: colour, "stroke-width": 1, "stroke-dasharray": s.open ? "4 3" : null }),
        `${s.kind} ${secs} s${s.open ? " (going on)" : ""}`,
      );
      lane.append(bar);
    }
    svg.append(lane);
  });

  // Marks go on top of every lane, so none hides under the next lane's background.
  const marks = el("g", { class: "marks" });
  const inbound = legs.find((l) => l.direction === "inbound") || legs[0];
  const lastX = new Map();
  const place = (uuid, t) => {
    const top = laneY.has(uuid) ? laneY.get(uuid) : inbound ? laneY.get(inbound.uuid) : AXIS_H + nccoRow;
    const mx = x(t);
    // Webhooks a few pixels apart stagger, so each stays visible and clickable.
    const near = (lastX.get(top) || []).filter((p) => Math.abs(p - mx) < 9).length;
    lastX.set(top, [...(lastX.get(top) || []), mx]);
    return [mx, top + 23 + (near % 2 ? -9 : near ? 9 : 0) * Math.ceil(near / 2)];
  };
  for (const a of answers) {
    const t = when(a.received_at);
    const [mx, my] = place(a.uuid || (inbound && inbound.uuid), t);
    const colour = a.status === 200 ? COLOUR.answer : COLOUR.failed;
    const mark = titled(
      el("path", { class: "mark answer", "data-webhook": `answer-${a.id}`, d: `M${mx} ${my - 6}L${mx + 6} ${my}L${mx} ${my + 6}L${mx - 6} ${my}Z`, fill: colour, stroke: "#fff", "stroke-width": 1.5 }),
      `${a.method} ${a.path} → ${a.status} in ${a.took_ms} ms\n${a.received_at}`,
    );
    marks.append(mark);
  }
  for (const item of call.events) {
    const e = item.event;
    const [mx, my] = place(e.status === "error" ? null : e.uuid, eventTime(item));
    marks.append(
      titled(
        el("circle", { class: "mark event", "data-webhook": `event-${item.id}`, "data-status": e.status || "error", cx: mx, cy: my, r: 5.5, fill: markColour(e.status || "error"), stroke: "#fff", "stroke-width": 1.5 }),
        `${e.status || "error"}${e.reason ? `: ${e.reason}` : ""}\n${e.timestamp || item.received_at}`,
      ),
    );
  }
  svg.append(marks);
  return svg;
}

function parse(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** The timeline as a standalone SVG file's text. */
export function svgFile(svg) {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(svg)}\n`;
}
