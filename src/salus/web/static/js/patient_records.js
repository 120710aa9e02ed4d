// The patient page's records: read through the FHIR facade as the patient (purpose
// PATRQT; each custodian's gateway checks, decrypts and logs the read), shown in groups
// for a person, each numeric observation charted over time with its values as a table.
import { Chart, registerables } from "chart.js";
import { ApiError } from "./api.js";
import { dateText, observationSeries, patientFhirId, personName, readBundle, whenText }
  from "./records_view.js";
import { $, el, verdict } from "./ui.js";

Chart.register(...registerables);
const charts = [];

// A table in a box that scrolls sideways on a narrow screen (focusable, so a keyboard can).
function scrolling(label, table) {
  return el("div", { class: "scroll", tabindex: 0, role: "region", "aria-label": label }, table);
}

function table(caption, head, rows) {
  return el("table", {},
    el("caption", {}, caption),
    el("thead", {}, el("tr", {}, ...head.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, ...rows.map((cells) => el("tr", {}, ...cells.map((c) => el("td", {}, c))))));
}

function groupSection({ key, label: title, items }, orgName) {
  const id = `group-${key}`;
  const section = el("section", { id, "aria-labelledby": `${id}-h`, class: "group" },
                     el("h3", { id: `${id}-h` }, `${title} (${items.length})`));
  if (!items.length) {
    section.append(el("p", { class: "note" }, "None on record."));
    return section;
  }
  section.append(scrolling(title, table(`Your ${title.toLowerCase()}, newest first`,
    ["What", "When", "Details", "Held by"],
    items.map((i) => [i.what, whenText(i) || "—", i.details.join(" · ") || "—", orgName(i.custodian)]))));
  if (key === "observations") section.append(...observationSeries(items).map(
    (s, n) => chartFigure(s, `${id}-chart-${n}`, orgName)));
  return section;
}

function chartFigure(series, id, orgName) {
  const unit = series.unit ? ` (${series.unit})` : "";
  const canvas = el("canvas", { role: "img", "aria-describedby": `${id}-table`,
                                "aria-label": `Chart of ${series.name}${unit} over time; its values are in the table that follows` });
  const figure = el("figure", { class: "chart", id },
    el("figcaption", {}, `${series.name}${unit} over time`),
    el("div", { class: "chart-box" }, canvas),
    scrolling(`Values of ${series.name}`, el("table", { id: `${id}-table` },
      el("caption", {}, `Values of ${series.name}, oldest first`),
      el("thead", {}, el("tr", {}, ...["When", "Value", "Held by"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, ...series.points.map((p) => el("tr", {},
        el("td", {}, dateText(p.t)), el("td", {}, `${p.value}${p.unit ? " " + p.unit : ""}`),
        el("td", {}, orgName(p.custodian))))))));
  const xs = series.points.map((p) => p.t);
  const day = 86_400_000;
  const [lo, hi] = [Math.min(...xs), Math.max(...xs)];
  const pad = hi - lo < 2 * day ? day : 0;  // one reading still gets an axis of dates
  charts.push(new Chart(canvas, {
    type: "line",
    data: { datasets: [{ label: series.name, data: series.points.map((p) => ({ x: p.t, y: p.value })),
                         borderColor: "#1d4ed8", backgroundColor: "#1d4ed8", pointRadius: 5 }] },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false,
      scales: {
        x: { type: "linear", min: lo - pad, max: hi + pad,
             ticks: { maxTicksLimit: 5, callback: (v) => dateText(v) } },
        y: { title: { display: Boolean(series.unit), text: series.unit } },
      },
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: {
          title: (items) => dateText(items[0].parsed.x),
          label: (item) => `${item.parsed.y}${unit} at ${orgName(series.points[item.dataIndex].custodian)}`,
        } },
      },
    },
  }));
  return figure;
}

function unservedItems(view, index, orgName) {
  const items = view.notServed.map((u) => el("li", {},
    u.record ? el("code", {}, u.record) : "", u.record ? ": " : "", u.code ? `${u.code}: ` : "",
    u.reason));
  for (const r of index.filter((x) => x.status === "erased")) {
    items.push(el("li", { class: "erased" }, `${r.type} held by ${orgName(r.custodian)}: erased`,
                  r.erased_time ? ` on ${dateText(r.erased_time)}` : "", " at your request"));
  }
  return items;
}

// Read and show the patient's records. `index` is GET /v1/records (every custodian's
// registrations, erased ones too); `orgName` maps an organisation id to its name.
export async function showRecords(session, index, orgName) {
  for (const c of charts.splice(0)) c.destroy();
  const fhirId = patientFhirId(session.did);
  let bundle = { entry: [] };
  let failed = false;
  const active = index.filter((r) => r.status === "active");
  try {
    if (active.length) {
      bundle = await session.get(`/fhir/Patient/${encodeURIComponent(fhirId)}/$everything`,
                                 { purpose: "PATRQT" });
    }
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    verdict(false, `Your records could not be read: ${e.code}: ${e.reason}`, "records-status");
    failed = true;
  }
  const view = readBundle(bundle);
  const held = new Set(active.map((r) => r.custodian));
  const shown = view.groups.reduce((n, g) => n + g.items.length, 0);
  $("groups").replaceChildren(...view.groups.map((g) => groupSection(g, orgName)));
  const unserved = unservedItems(view, index, orgName);
  $("unserved-list").replaceChildren(...unserved);
  $("unserved").hidden = unserved.length === 0;
  const name = personName(view.patients);
  if (!failed) {
    $("records-status").className = "";
    $("records-status").textContent = active.length
      ? `${shown} records${name ? ` about ${name}` : ""} from ${held.size} custodian${held.size === 1 ? "" : "s"}: ${[...held].map(orgName).join(", ")}.`
      : "No records are held for you on the ledger.";
  }
  return view;
}
