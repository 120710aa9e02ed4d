// The dispensing event the counter captures: one EPCIS 2.0 ObjectEvent (action DELETE,
// bizStep dispensing, disposition dispensed) naming the pack by its GS1 Digital Link, in
// an EPCISDocument, the shape salus.supply.epcis_events' `dispensing` and `document`
// write (tests/test_web_dispensing.py checks the two agree). No readPoint: the page does
// not know the pharmacy's location GLN, and EPCIS makes it optional.

export const EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";
export const SALUS_NS = "https://salus.example/epcis/";
const CANONICAL_HOST = "https://id.gs1.org";

// A serial as a Digital Link path segment: every character but A-Z a-z 0-9 - . _ ~
// percent-encoded, as Python's quote(safe="") does (encodeURIComponent leaves !'()*).
function escape(value) {
  return encodeURIComponent(value).replace(/[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

// The pack's canonical GS1 Digital Link (GTIN-14 and serial; no query string).
export function digitalLink({ gtin, serial }) {
  if (!/^[0-9]{14}$/.test(gtin ?? "") || !serial) throw new Error("a pack has a GTIN-14 and a serial");
  return `${CANONICAL_HOST}/01/${gtin}/21/${escape(serial)}`;
}

// This browser's UTC offset at `date` as EPCIS writes it: "+01:00", "-03:30", "+00:00".
export function offsetOf(date) {
  const minutes = -date.getTimezoneOffset();
  const abs = Math.abs(minutes);
  const hh = String(Math.floor(abs / 60)).padStart(2, "0");
  const mm = String(abs % 60).padStart(2, "0");
  return `${minutes < 0 ? "-" : "+"}${hh}:${mm}`;
}

// The EPCISDocument dispensing the pack `identity` (as POST /v1/supply/scan returns it)
// at `now`: its time in UTC, with the local offset beside it.
export function dispensingDocument(identity, now = new Date()) {
  const time = now.toISOString();
  return {
    "@context": [EPCIS_CONTEXT, { salus: SALUS_NS }],
    type: "EPCISDocument",
    schemaVersion: "2.0",
    creationDate: time,
    epcisBody: { eventList: [{
      type: "ObjectEvent", eventTime: time, eventTimeZoneOffset: offsetOf(now),
      action: "DELETE", bizStep: "dispensing", disposition: "dispensed",
      epcList: [digitalLink(identity)],
    }] },
  };
}
