// The calls inspector beside the phone: the recent calls from the store (paged, filtered,
// searched), a call's webhooks in order (answer requests and their NCCO, then every event, each
// opening to its JSON), its timeline, and replay to a URL. It follows the event stream, so a
// call in progress updates without a reload. No framework: the DOM, fetch and EventSource.

import { drawTimeline, eventTime, svgFile, when } from "/timeline.js";

const STATUSES = ["answered", "rejected", "busy", "timeout", "cancelled", "failed", "unanswered", "completed", "in progress"];
const PAGE = 25;

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

async function getJson(url, options = {}) {
  const resp = await fetch(url, { credentials: "same-origin", cache: "no-store", ...options });
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok && !body.deliveries) throw new Error(body.error || `HTTP ${resp.status}`);
  return body;
}

const clock = (iso) => (iso && iso.length >= 23 && iso[10] === "T" ? iso.slice(11, 23) : iso || "");
const day = (iso) => (iso ? iso.slice(0, 10) : "");
const short = (id) => (id ? id.replace(/^CON-/, "").slice(0, 8) : "");
const pretty = (value) => JSON.stringify(value, null, 2);
const ms = (n) => (n < 10 ? n.toFixed(2) : n.toFixed(1));
const outcomeClass = (o) => `outcome o-${(o || "").replace(/\s+/g, "-")}`;

function price(p) {
  if (p === null || p === undefined) return "";
  const n = Number(p);
  return Number.isNaN(n) ? p : String(n);
}

function copyButton(text, label = "Copy") {
  return h(
    "button",
    {
      type: "button",
      class: "copy",
      title: "Copy to the clipboard",
      onclick: async (ev) => {
        ev.preventDefault();
        ev.stopPropagation();
        try {
          await navigator.clipboard.writeText(typeof text === "function" ? text() : text);
          ev.target.textContent = "Copied";
        } catch {
          ev.target.textContent = "Select and copy";
        }
        setTimeout(() => (ev.target.textContent = label), 1200);
      },
    },
    label,
  );
}

/** The answer request's fields: a GET's query parameters, a POST's JSON body. */
function answerFields(a) {
  if (a.body !== null && a.body !== undefined) {
    try {
      return JSON.parse(a.body);
    } catch {
      return a.body;
    }
  }
  return Object.fromEntries(new URLSearchParams(a.query));
}

function parsed(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export class Inspector {
  constructor(root) {
    this.root = root;
    this.filters = { status: "", number: "", q: "" };
    this.calls = new Map(); // conversation → summary row shown
    this.next = null;
    this.open = null; // {conversation, data}
    this.pendingCalls = new Map();
    this.refetch = null;
    this.frame = null;
    this.build();
  }

  build() {
    const status = h("select", { name: "status", "aria-label": "Outcome" }, h("option", { value: "" }, "Any outcome"), STATUSES.map((s) => h("option", { value: s }, s)));
    const number = h("input", { name: "number", type: "search", placeholder: "Number", "aria-label": "Number", size: 14 });
    const q = h("input", { name: "q", type: "search", placeholder: "Conversation or leg id", "aria-label": "Search by conversation or leg id", size: 26 });
    const form = h("form", { class: "filters", onsubmit: (ev) => (ev.preventDefault(), this.applyFilters()) }, status, number, q);
    for (const input of [status, number, q]) input.addEventListener("change", () => this.applyFilters());
    this.form = form;
    this.live = h("span", { class: "live", title: "Following the event stream" }, "connecting…");
    this.tbody = h("tbody");
    this.table = h(
      "table",
      { class: "calls", "data-state": "loading" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Started", "Caller", "Called", "Outcome", "Duration", "Price", "Call"].map((c) => h("th", { class: c === "Duration" || c === "Price" ? "num" : null }, c)),
        ),
      ),
      this.tbody,
    );
    this.empty = h("p", { class: "empty", hidden: true });
    this.more = h("button", { type: "button", class: "more", hidden: true, onclick: () => this.loadCalls(true) }, "Load older calls");
    this.detail = h("article", { class: "call", hidden: true });
    this.root.replaceChildren(
      h("header", { class: "inspector-head" }, h("h2", {}, "Calls"), this.live, form),
      h("div", { class: "calls-wrap" }, this.table, this.empty, this.more),
      this.detail,
    );
  }

  async start() {
    await this.loadCalls(false);
    this.follow();
  }

  applyFilters() {
    const data = new FormData(this.form);
    this.filters = { status: data.get("status") || "", number: (data.get("number") || "").trim(), q: (data.get("q") || "").trim() };
    this.loadCalls(false);
  }

  get filtered() {
    return Boolean(this.filters.status || this.filters.number || this.filters.q);
  }

  // -- the list ---------------------------------------------------------------------------

  async loadCalls(older) {
    const params = new URLSearchParams({ limit: PAGE });
    for (const [k, v] of Object.entries(this.filters)) if (v) params.set(k, v);
    if (older && this.next) params.set("before", this.next);
    this.table.dataset.state = "loading";
    let page;
    try {
      page = await getJson(`/api/calls?${params}`);
    } catch (err) {
      this.table.dataset.state = "error";
      this.empty.hidden = false;
      this.empty.textContent = `Could not list the calls: ${err.message}`;
      return;
    }
    if (!older) {
      this.calls.clear();
      this.tbody.replaceChildren();
    }
    for (const call of page.calls) this.upsertRow(call, false);
    this.next = page.next;
    this.more.hidden = !page.next;
    this.more.textContent = page.calls.length < PAGE && page.next ? `Look further back (${page.scanned.toLocaleString()} events looked through)` : "Load older calls";
    this.empty.hidden = this.calls.size > 0;
    this.empty.textContent = this.filtered ? "No call matches." : "No calls yet: place one with `vcall call`, or call your number.";
    this.table.dataset.state = "ready";
  }

  row(call) {
    const tr = h(
      "tr",
      {
        class: this.open && this.open.conversation === call.conversation_uuid ? "selected" : "",
        dataset: { conversation: call.conversation_uuid, outcome: call.outcome },
        tabindex: 0,
        onclick: () => this.openCall(call.conversation_uuid),
        onkeydown: (ev) => ev.key === "Enter" && this.openCall(call.conversation_uuid),
      },
      h("td", { class: "started", title: call.started_at }, h("span", { class: "day" }, day(call.started_at)), " ", clock(call.started_at).slice(0, 8)),
      h("td", { class: "caller" }, call.caller || "?"),
      h("td", { class: "called" }, call.called || "?"),
      h("td", {}, h("span", { class: outcomeClass(call.outcome) }, call.outcome), call.ended ? null : h("span", { class: "badge live-badge" }, "live")),
      h("td", { class: "num" }, call.duration ? `${call.duration} s` : "—"),
      h("td", { class: "num", title: call.price || "" }, price(call.price)),
      h("td", { class: "id", title: call.conversation_uuid }, short(call.conversation_uuid)),
    );
    return tr;
  }

  /** Show ``call``'s row: replaced where it is, or (``top``) moved to the top. */
  upsertRow(call, top) {
    const tr = this.row(call);
    const old = this.tbody.querySelector(`tr[data-conversation="${CSS.escape(call.conversation_uuid)}"]`);
    if (old && !top) old.replaceWith(tr);
    else {
      if (old) old.remove();
      if (top) this.tbody.prepend(tr);
      else this.tbody.append(tr);
    }
    this.calls.set(call.conversation_uuid, call);
    this.empty.hidden = true;
  }

  // -- following the event stream ------------------------------------------------------------

  follow() {
    const stream = new EventSource("/api/events/stream");
    stream.addEventListener("ready", () => {
      this.live.textContent = "live";
      this.live.classList.add("on");
    });
    stream.onerror = () => {
      this.live.textContent = "reconnecting…";
      this.live.classList.remove("on");
    };
    stream.onmessage = (msg) => this.arrived(JSON.parse(msg.data));
    this.stream = stream;
  }

  arrived(item) {
    const conversation = item.event.conversation_uuid;
    if (!conversation) return;
    if (this.open && this.open.conversation === conversation) {
      this.addEvent(item);
      clearTimeout(this.refetch);
      // The answer request is written without anyone waiting for it: fetch the call again
      // shortly for it and the new summary.
      this.refetch = setTimeout(() => this.openCall(conversation, true), 250);
    }
    this.refreshRow(conversation);
  }

  refreshRow(conversation) {
    if (this.pendingCalls.has(conversation)) return;
    this.pendingCalls.set(
      conversation,
      setTimeout(async () => {
        this.pendingCalls.delete(conversation);
        if (this.filtered) {
          if (this.calls.has(conversation)) {
            const page = await getJson(`/api/calls?q=${encodeURIComponent(conversation)}`).catch(() => null);
            if (page && page.calls[0]) this.upsertRow(page.calls[0], false);
          }
          return;
        }
        const page = await getJson(`/api/calls?q=${encodeURIComponent(conversation)}`).catch(() => null);
        if (page && page.calls[0]) this.upsertRow(page.calls[0], true);
      }, 120),
    );
  }

  // -- one call -------------------------------------------------------------------------------

  async openCall(conversation, again = false) {
    let data;
    try {
      data = await getJson(`/api/calls/${encodeURIComponent(conversation)}`);
    } catch (err) {
      if (again) return; // the next event fetches it again
      this.detail.hidden = false;
      this.detail.replaceChildren(h("p", { class: "error" }, `Could not open ${conversation}: ${err.message}`));
      return;
    }
    if (this.calls.has(conversation)) this.upsertRow(data.call, false);
    if (again) {
      if (this.open && this.open.conversation === conversation) this.merge(data);
      return;
    }
    this.open = { conversation, data };
    for (const tr of this.tbody.querySelectorAll("tr")) tr.classList.toggle("selected", tr.dataset.conversation === conversation);
    this.renderCall();
    this.detail.scrollIntoView({ block: "nearest", behavior: "smooth" });
  }

  /** The open call fetched again: what is new is added, nothing already shown is redrawn (an
   * opened webhook stays open). */
  merge(data) {
    const shown = this.open.data;
    Object.assign(shown, { call: data.call, truncated: data.truncated });
    for (const a of data.answers) {
      if (shown.answers.some((x) => x.id === a.id)) continue;
      shown.answers.push(a);
      const answers = this.hooks.querySelectorAll("li.answer");
      const li = this.answerItem(a);
      if (answers.length) answers[answers.length - 1].after(li);
      else this.hooks.prepend(li);
    }
    for (const item of data.events) this.addEvent(item);
    this.facts.replaceChildren(...this.factItems());
    this.scheduleTimeline();
  }

  factItems() {
    const { data } = this.open;
    const call = data.call;
    const facts = [
      ["Caller", call.caller || "?"],
      ["Called", call.called || "?"],
      ["Outcome", h("span", { class: outcomeClass(call.outcome) }, call.outcome)],
      ["Duration", call.duration ? `${call.duration} s` : call.ended ? "—" : "going on"],
      ["Price", call.price || "—"],
      ["Legs", String(call.legs)],
      ["Webhooks", String(data.answers.length + data.events.length)],
    ];
    return facts.map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, v)));
  }

  renderCall() {
    const { conversation, data } = this.open;
    this.timelineBox = h("div", { class: "timeline-box" });
    this.hooks = h("ol", { class: "hooks" });
    this.facts = h("dl", { class: "facts" }, this.factItems());
    this.detail.hidden = false;
    this.detail.replaceChildren(
      h("header", { class: "call-head" }, h("h3", {}, "Call ", h("code", { class: "conversation" }, conversation), copyButton(conversation)), this.facts),
      h(
        "section",
        { class: "timeline-section" },
        h("div", { class: "section-head" }, h("h4", {}, "Timeline"), h("button", { type: "button", class: "download", onclick: () => this.download() }, "Download SVG")),
        this.timelineBox,
        h(
          "p",
          { class: "legend" },
          h("span", { class: "key ringing" }, "ringing"),
          h("span", { class: "key talking" }, "talking"),
          h("span", { class: "key answer" }, "answer request"),
          h("span", { class: "key event" }, "event"),
        ),
      ),
      h("section", { class: "webhooks" }, h("div", { class: "section-head" }, h("h4", {}, "Webhooks, in order"), data.truncated ? h("span", { class: "muted" }, "(the newest 1,000 events)") : null), this.hooks),
      this.replayForm(conversation),
    );
    this.hooks.append(...data.answers.map((a) => this.answerItem(a)), ...data.events.map((item) => this.eventItem(item)));
    this.drawTimeline();
  }

  /** Redraw the timeline once in the next frame, however many events came meanwhile. */
  scheduleTimeline() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = null;
      if (this.open) this.drawTimeline();
    });
  }

  drawTimeline() {
    const width = Math.max(this.timelineBox.clientWidth || 0, 560);
    this.timelineBox.replaceChildren(drawTimeline(this.open.data, { width }));
    // A call going on: its open spans grow with the clock until its next event.
    clearTimeout(this.ticker);
    if (!this.open.data.call.ended) this.ticker = setTimeout(() => this.open && this.drawTimeline(), 1000);
  }

  /** A webhook's row: its summary line, and its payload, built when first opened. */
  webhookItem(kind, dataset, summary, payload) {
    const details = h("details", {}, h("summary", {}, summary));
    details.addEventListener("toggle", () => {
      if (details.open && details.childElementCount === 1) details.append(payload());
    });
    return h("li", { class: `hook ${kind}`, dataset }, details);
  }

  answerItem(a) {
    const ok = a.status === 200;
    const signature = a.signature === "verified" ? "ok" : a.signature === "not checked" ? "" : "bad";
    return this.webhookItem(
      "answer",
      { webhook: `answer-${a.id}`, time: when(a.received_at) },
      [
        h("time", { class: "time", datetime: a.received_at, title: a.received_at }, clock(a.received_at)),
        h("span", { class: "kind" }, a.path.endsWith("fallback") ? "fallback" : "answer"),
        h("span", { class: "method" }, `${a.method} ${a.path}`),
        h("span", { class: `code ${ok ? "ok" : "bad"}` }, String(a.status)),
        h("span", { class: `signature ${signature}`, title: "signature check" }, a.signature),
        h("span", { class: "took", title: "how long vcall serve took to answer" }, `${ms(a.took_ms)} ms`),
      ],
      () => {
        const ncco = parsed(a.response);
        return h(
          "div",
          { class: "payload" },
          h("h5", {}, "Request ", copyButton(() => a.body ?? a.query, "Copy raw")),
          a.body === null ? h("p", { class: "raw-query" }, h("code", {}, `?${a.query}`)) : null,
          h("pre", { class: "json request" }, pretty(answerFields(a))),
          h("h5", {}, ok ? "NCCO returned " : "Answer ", copyButton(a.response, "Copy")),
          h("pre", { class: "json ncco" }, typeof ncco === "string" ? ncco : pretty(ncco)),
        );
      },
    );
  }

  eventItem(item) {
    const e = item.event;
    const status = e.status || "error";
    return this.webhookItem(
      "event",
      { webhook: `event-${item.id}`, eventId: item.id, time: eventTime(item) },
      [
        h("time", { class: "time", datetime: e.timestamp || item.received_at, title: `timestamp ${e.timestamp || "—"}, received ${item.received_at}` }, clock(e.timestamp || item.received_at)),
        h("span", { class: "kind" }, "event"),
        h("span", { class: `status ${outcomeClass(status)}` }, status),
        h("span", { class: "leg" }, e.direction ? `${e.direction} ${short(e.uuid)}` : e.reason || ""),
        e.duration ? h("span", { class: "took" }, `${e.duration} s`) : null,
        e.price ? h("span", { class: "took" }, `price ${e.price}`) : null,
        h("span", { class: "cursor", title: "store cursor" }, `#${item.id}`),
      ],
      () => h("div", { class: "payload" }, h("h5", {}, "Body as received ", copyButton(JSON.stringify(e), "Copy")), h("pre", { class: "json raw" }, pretty(e))),
    );
  }

  /** An event of the open call, shown as it comes (from the stream, or a fetch of the call);
   * the timeline follows in the next frame. */
  addEvent(item) {
    const data = this.open.data;
    if (data.events.some((e) => e.id === item.id)) return;
    data.events.push(item);
    data.events.sort((a, b) => a.id - b.id);
    const li = this.eventItem(item);
    const after = [...this.hooks.querySelectorAll("li.event")].find((n) => Number(n.dataset.eventId) > item.id);
    if (after) after.before(li);
    else this.hooks.append(li);
    this.scheduleTimeline();
  }

  download() {
    const svg = this.timelineBox.querySelector("svg");
    if (!svg) return;
    const url = URL.createObjectURL(new Blob([svgFile(svg)], { type: "image/svg+xml" }));
    const a = h("a", { href: url, download: `${this.open.conversation}.svg` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  // -- replay -------------------------------------------------------------------------------

  replayForm(conversation) {
    const to = h("input", { name: "to", type: "url", required: true, value: location.origin, "aria-label": "URL to replay to", size: 36 });
    const results = h("ol", { class: "deliveries" });
    const summary = h("p", { class: "replay-summary", role: "status" });
    const button = h("button", { type: "submit" }, "Replay");
    const form = h(
      "form",
      {
        class: "replay-form",
        onsubmit: async (ev) => {
          ev.preventDefault();
          button.disabled = true;
          summary.textContent = "Sending…";
          results.replaceChildren();
          try {
            const report = await getJson(`/api/calls/${encodeURIComponent(conversation)}/replay`, {
              method: "POST",
              headers: { "Content-Type": "application/json" },
              body: JSON.stringify({ to: to.value }),
            });
            for (const d of report.deliveries) {
              results.append(
                h(
                  "li",
                  { class: d.ok ? "ok" : "bad", dataset: { status: d.status ?? "" } },
                  h("span", { class: `code ${d.ok ? "ok" : "bad"}` }, String(d.status ?? "—")),
                  h("span", { class: "method" }, `${d.method} ${d.path}`),
                  h("span", { class: "label" }, d.label),
                  d.error ? h("span", { class: "why" }, d.error) : null,
                ),
              );
            }
            const how = report.signed ? "signed" : "unsigned";
            summary.textContent = report.ok
              ? `${report.accepted}/${report.sent} accepted by ${report.target} (${how})`
              : `${report.error} (${report.accepted}/${report.sent} accepted before)`;
            summary.className = `replay-summary ${report.ok && report.accepted === report.sent ? "ok" : "bad"}`;
          } catch (err) {
            summary.textContent = err.message;
            summary.className = "replay-summary bad";
          } finally {
            button.disabled = false;
          }
        },
      },
      h("label", {}, "Send this call's webhooks again, signed, to ", to),
      button,
    );
    return h("section", { class: "replay" }, h("h4", {}, "Replay"), form, summary, results);
  }
}

/** Mount the inspector on the page's #inspector element, if it has one. */
export function mount(root = document.getElementById("inspector")) {
  if (!root) return null;
  const inspector = new Inspector(root);
  inspector.start();
  window.addEventListener("resize", () => inspector.open && inspector.drawTimeline());
  return inspector;
}

mount();
