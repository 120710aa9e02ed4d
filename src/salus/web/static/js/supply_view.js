// What the supply pages (trace, recalls, footprint) show alike: an item named in words
// from its GS1 Digital Link, CBV codes in words, and the ledger's exact integers (µg CO2e,
// thousandths of an hour or of a currency) as decimals, converted with string arithmetic
// so that nothing passes through a binary float.
import { el } from "./ui.js";

export const human = (code) => String(code ?? "—").replaceAll("_", " ");

// The bare CBV term of a vocabulary value however it is written (`shipping`,
// `urn:epcglobal:cbv:bizstep:shipping`, `https://ref.gs1.org/cbv/BizStep-shipping`).
export function term(value) {
  const text = String(value ?? "");
  return text.replace(/^.*[:/-](?=[a-z_]+$)/, "") || "—";
}

// A pack or container in words, from its constrained Digital Link.
export function itemName(link) {
  const text = String(link ?? "");
  let m = /\/01\/(\d{14})\/21\/([^/?#]+)$/.exec(text);
  if (m) return `Pack: GTIN ${m[1]}, serial ${decodeURIComponent(m[2])}`;
  m = /\/00\/(\d{18})$/.exec(text);
  if (m) return `Case or pallet: SSCC ${m[1]}`;
  return text;
}

// The start of a hash or item key, the whole in its tooltip.
export function short(hex) {
  const text = String(hex ?? "");
  const m = /^ni:\/\/\/sha-256;([0-9a-f]+)/.exec(text);
  const digits = m ? m[1] : text;
  return el("code", { title: text }, digits.length > 16 ? `${digits.slice(0, 12)}…` : digits);
}

// An integer as a decimal with `places` digits after the point, trailing zeros dropped:
// decimal(84200000, 6) === "84.2".
export function decimal(value, places) {
  const negative = value < 0;
  const digits = String(Math.abs(value)).padStart(places + 1, "0");
  const whole = digits.slice(0, digits.length - places);
  const frac = digits.slice(digits.length - places).replace(/0+$/, "");
  return `${negative ? "-" : ""}${whole}${frac ? `.${frac}` : ""}`;
}

const grouped = (n) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");

// µg CO2e as grams or kilograms, the exact integer beside it.
export function co2e(ug) {
  if (typeof ug !== "number") return "—";
  const kg = Math.abs(ug) >= 1e9;
  return `${decimal(ug, kg ? 9 : 6)} ${kg ? "kg" : "g"} CO2e (${grouped(ug)} µg)`;
}

// Thousandths of an hour as hours and minutes.
export function hours(milli) {
  if (typeof milli !== "number") return "—";
  const minutes = decimal(milli * 60, 3);
  return `${decimal(milli, 3)} h (${minutes} min)`;
}

// Thousandths of a currency unit, per currency: "11.875 EUR".
export function money(costs) {
  const entries = Object.entries(costs ?? {});
  return entries.length ? entries.map(([cur, milli]) => `${decimal(milli, 3)} ${cur}`).join(", ")
                        : "—";
}

// YYYYMMDD (the ledger's expiry) as YYYY-MM-DD.
export function day(yyyymmdd) {
  const s = String(yyyymmdd ?? "");
  return /^\d{8}$/.test(s) ? `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6)}` : "—";
}

// A GTIN-8/12/13/14 as typed, as the 14 digits the node takes (its check digit is the
// node's to check).
export function gtin14(text) {
  const digits = String(text ?? "").trim();
  return /^(\d{8}|\d{12,14})$/.test(digits) ? digits.padStart(14, "0") : digits;
}

// What a scanner typed: a keyboard-wedge scanner ends with Enter and may send the
// DataMatrix's FNC1 separators as GS (ASCII 29), which the node reads as such.
export function scanned(text) {
  return String(text ?? "").replace(/[\r\n]+$/, "").trim();
}
