// The education page: a learner's progress (chart and table), an educator's teaching
// lineage (a tree of nested lists), CME hours against a board requirement; from the
// competency ledger's views (/v1/education/*), under their read rules (staff only): a
// refusal shows the node's code.
import { CategoryScale, Chart, Legend, LinearScale, LineController, LineElement, PointElement,
         Tooltip } from "chart.js";
import { requireSession } from "./layout.js";
import { $, cell, el, onSubmit, shortDid, show } from "./ui.js";

Chart.register(CategoryScale, Legend, LinearScale, LineController, LineElement, PointElement,
               Tooltip);

// Distinguishable lines with at least 3:1 contrast on white (WCAG 1.4.11).
const COLOURS = ["#1d4ed8", "#b91c1c", "#047857", "#7c3aed", "#b45309", "#0e7490", "#be185d",
                 "#4d7c0f"];
// How many people a lineage tree fetches at most (one request each).
const MAX_TREE = 200;

let session = null;
let chart = null;

// (a refusal is an ApiError, whose message is the node's code and reason)
const get = (path, params) => session.get(path, { params });
const path = (view, who) => `/v1/education/${view}/${encodeURIComponent(who.trim())}`;

// -- progress -------------------------------------------------------------------------------
function drawProgress(competencies) {
  const dates = [...new Set(competencies.flatMap((c) => c.history.map((e) => e.date)))].sort();
  const datasets = competencies.map((c, i) => {
    const at = new Map(c.history.map((e) => [e.date, e.level]));  // the day's last level
    return { label: `${c.competency} (${c.kind})`, data: dates.map((d) => at.get(d) ?? null),
             borderColor: COLOURS[i % COLOURS.length], backgroundColor: COLOURS[i % COLOURS.length],
             borderDash: c.kind === "milestone" ? [6, 4] : [], spanGaps: true };
  });
  chart = new Chart($("progress-chart"), {
    type: "line",
    data: { labels: dates, datasets },
    options: { animation: false, maintainAspectRatio: false,
               scales: { y: { min: 0, max: 5, ticks: { stepSize: 1 },
                              title: { display: true, text: "Level" } },
                         x: { title: { display: true, text: "Assessed" } } } },
  });
}

async function showProgress(who) {
  $("progress-facts").replaceChildren();  // nothing of the last answer stays under a refusal
  $("progress-table").tBodies[0].replaceChildren();
  chart?.destroy();
  chart = null;
  const p = await get(path("progress", who));
  show($("progress-facts"), [
    ["Learner", p.learner],
    ["EPAs assessed", p.epas_assessed],
    ["EPAs entrusted (level 4 or more)", p.epas_entrusted.join(", ") || "none yet"],
    ["EPAs still to entrust", p.epas_remaining.length]]);
  const body = $("progress-table").tBodies[0];
  body.replaceChildren();
  for (const c of p.competencies) {
    for (const e of c.history) {
      const row = body.insertRow();
      cell(row, `${c.competency} (${c.kind})`);
      cell(row, e.date);
      cell(row, String(e.level));
      cell(row, e.setting ? `${e.org}, ${e.setting}` : e.org);
    }
  }
  if (!p.competencies.length) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: "4" }, "No assessments recorded.")));
  }
  drawProgress(p.competencies);
  return `${p.competencies.length} competencies assessed`;
}

// -- lineage ---------------------------------------------------------------------------------
async function describe(id) {
  try {
    const m = await session.get(`/v1/members/${encodeURIComponent(id)}`);
    const roles = (m.roles ?? []).filter((r) => r.to === null).map((r) => r.role);
    return `${m.org ?? m.kind}${roles.length ? `, ${roles.join(", ")}` : ""}`;
  } catch {
    return "";  // the directory may not show them to this reader; the id still does
  }
}

// Each person's own learners (a lineage of depth 1), generation by generation: the tree
// the node's generations count, each person under the first teacher to reach them.
async function buildTree(rootId, depth) {
  const root = { id: rootId, children: [] };
  const seen = new Set([rootId]);
  let frontier = [root];
  let truncated = false;
  for (let g = 1; g <= depth && frontier.length; g++) {
    const next = [];
    for (const node of frontier) {
      if (seen.size >= MAX_TREE) {
        truncated = true;
        break;
      }
      const own = await get(path("lineage", node.id), { depth: 1 });
      for (const m of own.generations[0]?.members ?? []) {
        if (seen.has(m)) continue;
        seen.add(m);
        const child = { id: m, children: [] };
        node.children.push(child);
        next.push(child);
      }
    }
    frontier = next;
  }
  const labels = new Map(await Promise.all([...seen].map(async (id) => [id, await describe(id)])));
  return { root, labels, truncated };
}

function treeItem(node, labels) {
  const label = [el("code", { title: node.id }, shortDid(node.id)),
                 labels.get(node.id) ? ` (${labels.get(node.id)})` : ""];
  if (!node.children.length) return el("li", { "data-member": node.id }, label);
  return el("li", { "data-member": node.id },
    el("details", { open: true },
       el("summary", {}, label, ` taught ${node.children.length}`),
       el("ul", {}, node.children.map((c) => treeItem(c, labels)))));
}

async function showLineage(who, depth) {
  $("lineage-summary").textContent = "";
  $("lineage-tree").replaceChildren();
  const summary = await get(path("lineage", who), { depth });
  const gens = summary.generations.map((g) => `generation ${g.generation}: ${g.count}`);
  $("lineage-summary").textContent = `${summary.total} people in ${summary.generations.length} generation(s)` +
    (gens.length ? ` (${gens.join("; ")})` : "");
  const { root, labels, truncated } = await buildTree(summary.educator, depth);
  $("lineage-tree").replaceChildren(el("ul", { class: "tree" }, treeItem(root, labels)));
  if (truncated) $("lineage-tree").append(el("p", {}, `Only the first ${MAX_TREE} people are drawn.`));
  return `${summary.total} learners found`;
}

// -- CME -------------------------------------------------------------------------------------
const hours = (hundredths) => (hundredths / 100).toFixed(2).replace(/\.?0+$/, "");

async function showCme(who, requirement, asOf) {
  $("cme").hidden = true;
  const c = await get(path("cme", who), { requirement: requirement.trim(), as_of: asOf || undefined });
  const bar = $("cme-progress");
  bar.max = c.required_hours;
  bar.value = Math.min(c.earned_hours, c.required_hours);
  $("cme-label").textContent = `Hours earned toward ${c.requirement}`;
  const share = Math.floor((100 * c.earned_hours) / c.required_hours);
  $("cme-summary").textContent = `${hours(c.earned_hours)} of ${hours(c.required_hours)} hours (${share}%)` +
    `${c.category ? ` in ${c.category}` : ""}, from ${c.period.after} (exclusive) through ${c.period.through}: ` +
    (c.met ? "requirement met." : `${hours(c.shortfall_hours)} hours short.`);
  $("cme-summary").className = c.met ? "ok" : "bad";
  const body = $("cme-table").tBodies[0];
  body.replaceChildren();
  for (const [entries, counted] of [[c.counted, "yes"], [c.not_counted, "no"]]) {
    for (const e of entries) {
      const row = body.insertRow();
      for (const text of [`${e.activity} (${e.provider})`, hours(e.hours), e.completed, counted]) {
        cell(row, text);
      }
    }
  }
  $("cme").hidden = false;
  return `CME of ${shortDid(c.professional)} against ${c.requirement}`;
}

// -- the page ------------------------------------------------------------------------------------
onSubmit($("progress-form"), "progress-status", (form) => showProgress(form.get("who")));
onSubmit($("lineage-form"), "lineage-status", (form) => showLineage(form.get("who"),
                                                                    Number(form.get("depth"))));
onSubmit($("cme-form"), "cme-status", (form) => showCme(form.get("who"), form.get("requirement"),
                                                        form.get("as_of")));

requireSession().then((s) => {
  session = s;
  if (!session) return;
  for (const id of ["learner", "educator", "professional"]) $(id).value = session.did;
  for (const id of ["progress-form", "lineage-form", "cme-form"]) $(id).requestSubmit();
});
