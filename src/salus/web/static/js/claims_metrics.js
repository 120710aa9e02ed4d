// The prior-authorisation metrics page: every insurer's CMS-0057-F metrics for a year (GET
// /v1/claims/metrics/payers, then GET /v1/claims/metrics per payer; public, no token), a
// bar chart per metric comparing the payers, standard and expedited side by side, and a
// table with the same figures under each chart. A refusal shows the node's code.
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale,
         Tooltip } from "chart.js";
import { request, withQuery } from "./api.js";
import { signedIn } from "./layout.js";
import { $, el, onSubmit } from "./ui.js";

Chart.register(BarController, BarElement, CategoryScale, Legend, LinearScale, Tooltip);

// Two series with at least 3:1 contrast on white (WCAG 1.4.11), told apart by pattern too
// (the expedited bars are outlined).
const SERIES = [{ group: "standard", label: "Standard", colour: "#1d4ed8" },
                { group: "expedited", label: "Expedited", colour: "#b45309" }];
// How many payers one page compares at most (one request each).
const MAX_PAYERS = 50;

const percent = (bp) => (bp === null ? null : bp / 100);
const hours = (s) => (s === null ? null : Math.round(s / 36) / 100);
const shareText = (count, of, bp) => (bp === null ? `${count} of ${of} (none determined)`
  : `${count} of ${of} (${(bp / 100).toFixed(2)}%)`);
function timeText(s) {
  if (s === null) return "none determined";
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60), sec = s % 60;
  return `${d ? `${d}d ` : ""}${h}h ${m}m ${sec}s`;
}

// One chart per metric: [id, title, axis, value for the chart, text for the table].
const SHARE = (name) => [(g) => percent(g.share_bp[name]),
                         (g) => shareText(g[name], g.determined, g.share_bp[name])];
const METRICS = [
  ["approved", "Approved (every item as asked)", "% of determined", ...SHARE("approved")],
  ["partially-approved", "Partially approved", "% of determined", ...SHARE("partially_approved")],
  ["denied", "Denied", "% of determined", ...SHARE("denied")],
  ["approved-after-appeal", "Approved after appeal", "% of determined",
   ...SHARE("approved_after_appeal")],
  ["extended-approved", "Review time extended, then approved", "% of determined",
   ...SHARE("extended_approved")],
  ["late", "Decided after the due time", "% of determined", ...SHARE("late")],
  ["mean-time", "Mean decision time", "hours", (g) => hours(g.decision_time.mean_s),
   (g) => timeText(g.decision_time.mean_s)],
  ["median-time", "Median decision time", "hours", (g) => hours(g.decision_time.median_s),
   (g) => timeText(g.decision_time.median_s)],
];

const charts = [];

function figure([id, title, axis, value, text], payers, found) {
  const canvas = el("canvas", { id: `${id}-chart`, role: "img",
                                "aria-label": `${title} per payer, standard and expedited, in ${axis}; the table below gives every value` });
  const table = el("table", { id: `${id}-table`, class: "supply-table" },
    el("caption", {}, `${title}, per payer`),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Payer"),
                       SERIES.map((s) => el("th", { scope: "col" }, s.label)))),
    el("tbody", {}, payers.map((p, i) => el("tr", { "data-payer": p.id },
      el("th", { scope: "row" }, p.name),
      SERIES.map((s) => el("td", {}, text(found[i][s.group])))))));
  const fig = el("figure", { class: "metric", "aria-labelledby": `${id}-h` },
    el("h3", { id: `${id}-h` }, title),
    el("div", { class: "chart" }, canvas),
    el("div", { class: "scroll" }, table));
  $("charts").append(fig);
  charts.push(new Chart(canvas, {
    type: "bar",
    data: { labels: payers.map((p) => p.name),
            datasets: SERIES.map((s, n) => ({
              label: s.label, data: found.map((m) => value(m[s.group])),
              backgroundColor: n ? "#ffffff" : s.colour, borderColor: s.colour,
              borderWidth: 2 })) },
    options: { animation: false, maintainAspectRatio: false,
               scales: { y: { beginAtZero: true, title: { display: true, text: axis } } } },
  }));
}

async function compare(year) {
  for (const c of charts.splice(0)) c.destroy();
  $("charts").replaceChildren();
  const { payers } = await request("/v1/claims/metrics/payers");
  const shown = payers.slice(0, MAX_PAYERS);
  const found = await Promise.all(shown.map((p) => request(
    withQuery("/v1/claims/metrics", { payer: p.id, year: String(year).padStart(4, "0") }))));
  for (const metric of METRICS) figure(metric, shown, found);
  const requests = found.reduce((n, m) => n + m.all.requests, 0);
  return `${shown.length} payer(s), ${requests} prior-authorisation request(s) submitted in ${year}` +
    (payers.length > shown.length ? ` (the first ${MAX_PAYERS} payers shown)` : "");
}

onSubmit($("year-form"), "metrics-status", (form) => compare(Number(form.get("year"))));

signedIn();  // the header shows who is signed in, if anyone: the page needs no one
const asked = new URLSearchParams(location.search).get("year");
$("year").value = /^[0-9]{4}$/.test(asked ?? "") ? asked : String(new Date().getUTCFullYear() - 1);
$("year-form").requestSubmit();
