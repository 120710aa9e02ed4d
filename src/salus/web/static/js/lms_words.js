// A verification's answer (GS1 Lightweight Messaging Standard, salus.supply.verification)
// in words for the person at the counter: why a pack did not verify, and what each
// additional information value means for handing it over.

// verificationFailureReason -> what it means.
const FAILURES = {
  No_match_GTIN_Serial: "no such pack: possibly counterfeit. No pack of this product was ever made with this serial number.",
  No_match_GTIN_Serial_Lot: "the lot on the label is not this pack's lot: possibly counterfeit or relabelled.",
  No_match_GTIN_Serial_Expiry: "the expiry date on the label is not this pack's: possibly counterfeit or relabelled.",
  No_match_GTIN_Serial_Lot_Expiry: "neither the lot nor the expiry date on the label is this pack's: possibly counterfeit or relabelled.",
  No_reason_provided: "the ledger gave no reason.",
};

// additionalInfoAll's values (the LMS's and Salus's own) -> [title, what to do].
const WARNINGS = {
  Recalled: ["Recalled", "the pack's lot has been recalled by its maker or the regulator. Do not dispense it: set it aside and follow the recall."],
  Expired: ["Expired", "the pack is past its expiry date. Do not dispense it."],
  Suspect: ["Suspect", "the pack is under investigation as possibly illegitimate. Do not dispense it: keep it in quarantine."],
  Illegitimate: ["Illegitimate", "the pack was found to be counterfeit, diverted, stolen or otherwise unfit. Do not dispense it."],
  Dispensed: ["Already dispensed", "a pack with this serial number was handed to a patient before: this one may be a copy. Do not dispense it."],
  Destroyed: ["Destroyed", "this pack was recorded as destroyed: this one may be a copy. Do not dispense it."],
  Decommissioned: ["Decommissioned", "this pack was taken out of the supply chain. Do not dispense it."],
  Stolen: ["Reported stolen", "this pack was reported stolen. Do not dispense it."],
};

const spaced = (code) => String(code).replaceAll("_", " ");

// The failure reason in words (an unknown code as itself).
export function failureWords(reason) {
  return FAILURES[reason] ?? `${spaced(reason ?? "not verified")}.`;
}

// Every additional information value of an answer's `data`, each as {code, title, text}:
// Salus's full list when given, else the LMS's one value.
export function warnings(data) {
  const all = data?.additionalInfoAll ?? (data?.additionalInfo ? [data.additionalInfo] : []);
  return all.map((code) => {
    const [title, text] = WARNINGS[code] ?? [spaced(code), "check this pack before dispensing it."];
    return { code, title, text };
  });
}
