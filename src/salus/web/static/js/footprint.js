// Footprints: a product's (and lot's) PACT footprint as the ledger keeps it (GET
// /v1/supply/footprints/{gtin}: hash, declared unit, µg CO2e per declared unit, the
// footprint it replaced), and a pack's or case's CO2e and labour, now and per shipment
// (GET /v1/supply/impact). Figures arrive as exact integers and are shown as decimals
// converted without floats (supply_view.js); labour appears only where the node gave it.
import { requireSession } from "./layout.js";
import { co2e, decimal, gtin14, hours, money, scanned, short } from "./supply_view.js";
import { $, cell, el, verdict, when } from "./ui.js";

let session = null;

const FIGURES = [["pcf_excluding_biogenic_ug", "CO2e, excluding biogenic uptake"],
                 ["pcf_including_biogenic_ug", "CO2e, including biogenic uptake"],
                 ["fossil_ghg_ug", "Fossil greenhouse gas emissions"]];

function declared(doc) {
  const amount = typeof doc.declared_amount_milli === "number"
    ? decimal(doc.declared_amount_milli, 3) : "1";
  return `${amount} ${doc.declared_unit}${doc.declared_unit === "piece" ? " (one pack of the GTIN)" : ""}`;
}

function card(doc, title, applies) {
  const pairs = [["Applies to its packs", applies ? "yes" : "no: the lot's own footprint does"],
                 ["Footprint hash (SHA-256)", el("code", {}, doc.hash)],
                 ["Declared unit", declared(doc)],
                 ...FIGURES.filter(([k]) => typeof doc[k] === "number")
                   .map(([k, name]) => [`${name}, per declared unit`, co2e(doc[k])]),
                 ["Brand owner", doc.org],
                 ["Attached", `${when(doc.time)}, block ${doc.height}`],
                 ["Replaces", doc.replaces ? el("code", {}, doc.replaces) : "nothing: the first attached"]];
  return el("section", { class: "card", "aria-labelledby": `fp-${title.kind}`, "data-kind": title.kind },
    el("h3", { id: `fp-${title.kind}` }, title.text),
    el("dl", {}, pairs.flatMap(([name, value]) => [el("dt", {}, name), el("dd", {}, value)])));
}

$("footprint-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const gtin = gtin14($("gtin").value);
  const lot = $("lot").value.trim() || undefined;
  $("footprints").replaceChildren();
  try {
    const doc = await session.get(`/v1/supply/footprints/${encodeURIComponent(gtin)}`,
                                  { params: { lot } });
    const cards = [];
    if (doc.batch) {
      cards.push(card(doc.batch, { kind: "batch", text: `Lot ${lot}'s own footprint` },
                      doc.applies === "batch"));
    }
    if (doc.product) {
      cards.push(card(doc.product, { kind: "product", text: `The product's footprint (GTIN ${gtin})` },
                      doc.applies === "product"));
    }
    $("footprints").replaceChildren(...cards);
    verdict(true, lot && !doc.batch ? `Lot ${lot} has no footprint of its own: the product's applies.`
                                    : `Footprint of GTIN ${gtin}${doc.batch ? `, lot ${lot}` : ""}.`,
            "footprint-status");
  } catch (e) {
    verdict(false, `Refused by the node: ${e.message}`, "footprint-status");
  }
});

// -- a pack, a case, its shipments ------------------------------------------------------------
function labourText(found) {
  if (!found) return "not shown: the event that made these packs is not yours to read";
  return `${hours(found.hours_milli)}; ${money(found.cost_milli)}`;
}

function co2eText(figures) {
  return figures ? co2e(figures.excluding_biogenic) : "no footprint per pack";
}

function summary(t) {
  const parts = [`${t.packs} pack${t.packs === 1 ? "" : "s"}`];
  parts.push(t.co2e_ug ? `${co2e(t.co2e_ug.excluding_biogenic)} for the ${t.co2e_packs} with a footprint per pack`
                       : "no CO2e per pack");
  parts.push(t.labour ? `labour ${labourText(t.labour)} (the ${t.labour.packs} whose making you may read)`
                      : "no labour you may read");
  if (t.unresolved) parts.push(`${t.unresolved} container(s) whose contents you may not read`);
  if (t.rounded) parts.push("rounded to the nearest unit");
  return parts.join("; ");
}

function showNow(now) {
  const body = $("now").tBodies[0];
  body.replaceChildren();
  for (const lot of now.lots) {
    const row = body.insertRow();
    row.dataset.lot = lot.lot;
    cell(row, lot.lot, true);
    cell(row, String(lot.packs));
    const fp = row.insertCell();
    if (lot.footprint) fp.append(lot.footprint.applies === "batch" ? "the lot's own " : "the product's ", short(lot.footprint.hash));
    else fp.append("none attached");
    cell(row, co2eText(lot.co2e_per_pack_ug));
    cell(row, labourText(lot.labour_per_pack));
  }
  $("now-summary").textContent = summary(now);
}

function showShipments(shipments) {
  const body = $("shipments").tBodies[0];
  body.replaceChildren();
  for (const s of shipments) {
    const row = body.insertRow();
    row.dataset.event = s.event;
    cell(row, when(s.time));
    cell(row, `${s.org} to ${s.to ?? "—"}`);
    cell(row, String(s.packs));
    cell(row, s.co2e_ug ? co2e(s.co2e_ug.excluding_biogenic) : "—");
    cell(row, s.labour ? labourText(s.labour) : labourText(null));
  }
  $("shipments-note").textContent = shipments.length
    ? `${shipments.length} shipment(s) you may read, oldest first; each counts every pack it carried, through its cases and pallet.`
    : "No shipment of it is yours to read.";
}

$("impact-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const item = scanned($("item").value);
  $("impact").hidden = true;
  try {
    const doc = await session.get("/v1/supply/impact", { params: { item } });
    showNow(doc.now);
    showShipments(doc.shipments);
    $("impact").hidden = false;
    verdict(true, doc.kind === "pack" ? `A pack of GTIN ${doc.gtin}, lot ${doc.lot}.`
                                      : "A case or pallet.", "impact-status");
  } catch (e) {
    for (const id of ["now", "shipments"]) $(id).tBodies[0].replaceChildren();
    verdict(false, `Refused by the node: ${e.message}`, "impact-status");
  }
});

async function start() {
  session = await requireSession();
}

start();
