// The patient's claims: every ExplanationOfBenefit in her name
// (GET /fhir/ExplanationOfBenefit?patient=), in words: each service, its date, the
// provider, billed, allowed, paid, what she owes, the decision and its reason (the CARC's
// description). Per item, "I never received this service" signs claims.flag_phantom, and
// an appeal of a denial or cut signs claims.appeal, both with her key in this browser.
import { carcText, centsOf, money, words } from "./claims_words.js";
import { $, el, verdict } from "./ui.js";

const LEDGER_ITEM = "urn:salus:claims:ledger-item";  // salus.claims.eob.LEDGER_ITEM
const PHANTOM_FLAG = "urn:salus:claims:phantom-flag";  // salus.claims.eob.PHANTOM_FLAG
const FLAG_WORDS = {
  "under-review": "You said you never received this service: your insurer is looking into it.",
  confirmed: "You said you never received this service: your insurer found it was not rendered as billed.",
  unfounded: "You said you never received this service: your insurer found records that it was.",
};

const code = (concept) => concept?.coding?.[0]?.code ?? "";
const adjudication = (item, category) => (item.adjudication ?? []).find((a) => code(a.category) === category);
const total = (eob, category) => centsOf((eob.total ?? []).find((t) => code(t.category) === category)?.amount);

// What the insurer decided on one EOB item, in words.
function decision(eob, item, vocab) {
  const reason = code(adjudication(item, "submitted")?.reason);
  const benefit = adjudication(item, "benefit");
  if (eob.status === "cancelled") return { kind: "cancelled", text: "cancelled by the provider" };
  if (!benefit) return { kind: "pending", text: "waiting for the insurer's decision" };
  if (!reason) return { kind: "approved", text: "approved" };
  if (!benefit.value) return { kind: "denied", text: `denied: ${carcText(reason, vocab)}` };
  return { kind: "cut", text: `approved in part (${benefit.value} of ${item.quantity?.value} units): ${carcText(reason, vocab)}` };
}

function act(session, eob, item, method, label, reload) {
  const ledgerItem = (item.extension ?? []).find((e) => e.url === LEDGER_ITEM)?.valuePositiveInt;
  if (!ledgerItem) return null;
  const service = code(item.productOrService);
  return el("button", { type: "button", "aria-label": `${label}: ${service}, item ${item.sequence}`,
                        onclick: async (event) => {
    event.target.disabled = true;
    try {
      await session.call("claims", method, { request: eob.id, items: [ledgerItem] });
      await reload();
      verdict(true, method === "flag_phantom"
        ? `Recorded: you never received ${service}. Your insurer's reviewers will look into it.`
        : `Appeal sent for ${service}: a reviewer who made no earlier decision on it decides.`, "claims-status");
      $("claims-h").focus();
    } catch (e) {
      verdict(false, `Refused by the node: ${e.message}`, "claims-status");
      event.target.disabled = false;
    }
  } }, label);
}

function card(session, eob, n, vocab, reload) {
  const claim = eob.use === "claim";
  const currency = eob.total?.[0]?.amount?.currency ?? null;
  const rows = eob.item.map((item) => {
    const d = decision(eob, item, vocab);
    const when = item.servicedDate ?? item.servicedPeriod?.start ?? "—";
    const billed = centsOf(adjudication(item, "submitted")?.amount);
    const allowed = centsOf(adjudication(item, "benefit")?.amount);
    const flag = (item.extension ?? []).find((e) => e.url === PHANTOM_FLAG)?.valueCode;
    const actions = [
      flag ? el("span", { class: "flag" }, FLAG_WORDS[flag] ?? flag) : null,
      claim && eob.status === "active" && !flag ? act(session, eob, item, "flag_phantom", "I never received this service", reload) : null,
      ["denied", "cut"].includes(d.kind) ? act(session, eob, item, "appeal", "Appeal this decision", reload) : null,
    ].filter(Boolean);
    return el("tr", { "data-item": item.sequence },
      el("td", {}, `${code(item.productOrService)}, units: ${item.quantity?.value ?? 1}`),
      el("td", {}, when), el("td", {}, money(billed, null)), el("td", {}, money(allowed, null)),
      el("td", { class: d.kind === "denied" ? "bad" : "" }, d.text),
      el("td", {}, actions.length ? actions : "—"));
  });
  const paid = centsOf(eob.payment?.amount);
  const owed = total(eob, "memberliability");
  const head = `${claim ? "Claim" : "Prior authorisation"} from ${eob.provider?.display ?? eob.provider?.identifier?.value ?? "a provider"}, ${eob.created.slice(0, 10)}`;
  return el("li", { class: "card", "data-eob": eob.id, "aria-labelledby": `eob-${n}` },
    el("h3", { id: `eob-${n}` }, head),
    el("dl", {}, [
      ["Insurer", eob.insurer?.display ?? eob.insurer?.identifier?.value ?? "—"],
      ["Status", eob.status === "cancelled" ? "cancelled" : eob.outcome === "complete" ? "decided" : "waiting for a decision"],
      ["Billed", money(total(eob, "submitted"), currency)],
      ["Allowed", money(total(eob, "benefit"), currency)],
      ...(claim ? [["Paid by the insurer", paid === null ? "nothing yet" : `${money(paid, currency)} on ${eob.payment.date}`],
                   ["You owe", owed === null ? "not known yet" : money(owed, currency)]] : []),
      ...(eob.preAuthRefPeriod ? [["Authorised", `${eob.preAuthRefPeriod[0].start} to ${eob.preAuthRefPeriod[0].end}`]] : []),
    ].flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])),
    el("div", { class: "scroll", tabindex: 0, role: "region", "aria-label": `Services of: ${head}` },
      el("table", {},
        el("caption", {}, "Each service: when, billed, allowed by the insurer, its decision and why"),
        el("thead", {}, el("tr", {}, ["Service", "Date", "Billed", "Allowed", "Decision", "Action"]
          .map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, rows))));
}

export async function showClaims(session) {
  const vocab = await words();
  const reload = async () => {
    try {
      const bundle = await session.get("/fhir/ExplanationOfBenefit", { params: { patient: session.did } });
      const eobs = (bundle.entry ?? []).map((e) => e.resource)
        .sort((a, b) => b.created.localeCompare(a.created));
      $("claims").replaceChildren(...eobs.map((eob, n) => card(session, eob, n, vocab, reload)));
      $("claims-status").className = "";
      $("claims-status").textContent = eobs.length
        ? `${eobs.length} claim(s) and prior authorisation(s) in your name.`
        : "No claim or prior authorisation has been made in your name.";
    } catch (e) {
      $("claims").replaceChildren();
      verdict(false, `Your claims could not be read: ${e.message}`, "claims-status");
    }
  };
  await reload();
}
