// The patient's access log (GET /v1/access/log): every read of their records, released
// or refused, and every emergency override, newest first; kept up to date from the
// access-events stream (GET /v1/access/events), with each new access by someone else
// announced politely to screen readers.
import { ApiError } from "./api.js";
import { PURPOSES } from "./patient_grants.js";
import { timeText } from "./records_view.js";
import { $, el, shortDid, verdict } from "./ui.js";

const PURPOSE_WORDS = new Map([...PURPOSES, ["unknown", "not given"]]);
const LIVE_KINDS = new Set(["access", "break_glass", "records_erased"]);
const PAGE = 1000;  // the route's most per page (salus.records.routes.MAX_LOG)
const MAX_PAGES = 50;

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

export class AccessLog {
  constructor(session, directory, onErased) {
    this.session = session;
    this.directory = directory;
    this.onErased = onErased;
    this.entries = [];
    this.seen = null;  // keys shown so far (null until the first load)
    this.records = new Map();  // record id -> {type, custodian}, from the record index
    this.timer = null;
    $("show-own").addEventListener("change", () => this.render(new Set()));
  }

  // Every entry, oldest first (the route pages in ledger order).
  async fetchAll() {
    const out = [];
    let after = "";
    for (let n = 0; n < MAX_PAGES; n++) {
      const page = await this.session.get("/v1/access/log", { params: { limit: PAGE, after } });
      out.push(...page.entries);
      if (!page.next) break;
      after = page.next;
    }
    return out;
  }

  async load() {
    try {
      this.entries = await this.fetchAll();
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      verdict(false, `The access log could not be read: ${e.code}: ${e.reason}`, "access-status");
      return;
    }
    const fresh = new Set(this.seen ? this.entries.map((e) => e.key).filter((k) => !this.seen.has(k)) : []);
    this.seen = new Set(this.entries.map((e) => e.key));
    this.render(fresh);
    const news = this.entries.filter((e) => fresh.has(e.key) && e.requester !== this.session.did);
    if (news.length) {
      $("access-news").textContent = `New: ${news.map((e) => this.sentence(e)).join("; ")}.`;
    }
  }

  mine(e) {
    return e.requester === this.session.did;
  }

  render(fresh) {
    const showOwn = $("show-own").checked;
    const shown = this.entries.filter((e) => showOwn || !this.mine(e)).reverse();
    const own = this.entries.length - this.entries.filter((e) => !this.mine(e)).length;
    const body = $("access").tBodies[0];
    body.replaceChildren(...shown.map((e) => this.row(e, fresh.has(e.key))));
    if (!shown.length) {
      body.append(el("tr", {}, el("td", { colspan: 6 }, "No one else has read your records.")));
    }
    $("access-status").className = "";
    $("access-status").textContent = `${this.entries.length - own} accesses by others` +
      (showOwn ? `, ${own} by you.` : `; ${own} reads by you are hidden.`);
  }

  who(e) {
    if (!e.requester) return "unknown";
    if (this.mine(e)) return "You";
    return el("code", { title: e.requester }, shortDid(e.requester));
  }

  recordText(e) {
    if (e.kind === "break_glass") return `All your records (reason: ${String(e.reason ?? "").replaceAll("_", " ")})`;
    const r = this.records.get(e.record);
    const where = this.directory.orgName(e.custodian ?? r?.custodian ?? "");
    return r ? `${r.type} held by ${where}` : [el("code", {}, String(e.record ?? "—")), ` held by ${where}`];
  }

  outcome(e) {
    const parts = [];
    if (e.outcome === "granted") parts.push(el("span", { class: "ok" }, "Released"));
    else if (e.outcome === "override_started") parts.push(el("span", { class: "bad" }, "Emergency override opened"));
    else if (e.outcome === "not_released") parts.push(el("span", { class: "bad" }, `Not released (${e.code})`));
    else parts.push(el("span", { class: "bad" }, `Refused (${e.code})`));
    if (e.emergency) parts.push(" ", el("span", { class: "tag emergency" }, "Break-glass"));
    return parts;
  }

  row(e, isNew) {
    return el("tr", { "data-key": e.key, "data-requester": e.requester ?? "", "data-outcome": e.outcome,
                      "data-code": e.code, class: [isNew ? "new" : "", e.emergency ? "emergency" : ""].join(" ").trim() || null },
      el("td", {}, timeText(e.at)),
      el("td", {}, this.who(e)),
      el("td", {}, e.requester_org ? this.directory.orgName(e.requester_org) : "—"),
      el("td", {}, `${PURPOSE_WORDS.get(e.purpose) ?? e.purpose} (${e.purpose})`),
      el("td", {}, this.recordText(e)),
      el("td", {}, this.outcome(e)));
  }

  sentence(e) {
    const who = e.requester ? shortDid(e.requester) : "someone";
    const org = e.requester_org ? ` at ${this.directory.orgName(e.requester_org)}` : "";
    const what = e.outcome === "granted" ? "read a record (released)"
      : e.outcome === "override_started" ? "opened an emergency override" : `was refused (${e.code})`;
    return `${who}${org} ${what}${e.emergency ? ", break-glass" : ""}`;
  }

  // A burst of events (a page of reads) is one reload.
  soon() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.load(), 200);
  }

  onEvent(ev) {
    if (ev.event === "ready") {
      $("access-live").textContent = "Live: new accesses appear here as they happen.";
    } else if (LIVE_KINDS.has(ev.event)) {
      this.soon();
      if (ev.event === "records_erased") this.onErased();
    }
  }

  // Follow the stream until the page goes; reconnect (and catch up) when it ends.
  async follow() {
    const stop = new AbortController();
    addEventListener("pagehide", () => stop.abort());
    while (!stop.signal.aborted) {
      try {
        await this.session.stream("/v1/access/events", (ev) => this.onEvent(ev), stop.signal);
        $("access-live").textContent = "The live feed closed; reconnecting…";
      } catch (e) {
        if (stop.signal.aborted) return;
        $("access-live").textContent = `The live feed was interrupted (${e.code ?? e.name}); reconnecting…`;
      }
      await sleep(3000);
      if (!stop.signal.aborted) await this.load();
    }
  }
}
