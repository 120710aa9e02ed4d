// The patient page: my records from every custodian, my grants, a link a clinician can
// open, my access log (live), my break-glass choice and erasure. Everything is read with
// my bearer token and signed with my key in this browser; the node decides.
import { ApiError } from "./api.js";
import { requireSession } from "./layout.js";
import { AccessLog } from "./patient_access.js";
import { showClaims } from "./patient_claims.js";
import { BreakGlass, erasure } from "./patient_choices.js";
import { Grants } from "./patient_grants.js";
import { showRecords } from "./patient_records.js";
import { qrSvg } from "./qr.js";
import { $, el } from "./ui.js";

// The staff directory (organisations and their members: GET /v1/members), for naming
// grantees and readers. Patients are not in it, but for the reader themself.
async function directory(session) {
  const orgs = [];
  const staff = [];
  let after = "";
  for (let n = 0; n < 20; n++) {
    const page = await session.get("/v1/members", { params: { limit: 1000, after } });
    if (!orgs.length) orgs.push(...page.organisations);
    staff.push(...page.members.filter((m) => m.kind !== "patient"));
    if (!page.next) break;
    after = page.next;
  }
  const names = new Map(orgs.map((o) => [o.id, o.name || o.id]));
  const byId = new Map(staff.map((m) => [m.id, m]));
  return { orgs, staff, orgName: (id) => (id ? names.get(id) ?? id : "—"), member: (did) => byId.get(did) };
}

function share(session) {
  const url = new URL("/ui/pages/clinician", location.origin);
  url.searchParams.set("patient", session.did);
  $("share-link").href = url.href;
  $("share-link").textContent = url.href;
  $("share-qr").replaceChildren(qrSvg(url.href, "QR code of the link above, for a clinician to scan"));
}

async function main() {
  const session = await requireSession();
  if (!session) return;
  const member = await session.member();
  if (member?.kind !== "patient") {
    $("page-status").replaceChildren("This page is for patients, and the key signed in here is ",
      member ? "an organisation member's. " : "no member's yet. ",
      el("a", { href: "/ui/" }, "Sign in"), " with a patient's key file.");
    return;
  }
  const dir = await directory(session);
  const readIndex = async () => (await session.get("/v1/records", { params: { patient: session.did } })).records;
  let index = await readIndex();
  $("patient").hidden = false;
  $("page-status").textContent = "";
  const grants = new Grants(session, dir);
  const access = new AccessLog(session, dir, () => refreshRecords());
  async function refreshRecords() {
    index = await readIndex();
    access.records = new Map(index.map((r) => [r.id, r]));
    await showRecords(session, index, dir.orgName);
  }
  const breakGlass = new BreakGlass(session, async () => breakGlass.show(await grants.load()));
  grants.form();
  share(session);
  erasure(session, refreshRecords);
  await refreshRecords();
  await showClaims(session);
  breakGlass.show(await grants.load());
  await access.load();
  access.follow();
}

main().catch((e) => {
  $("page-status").className = "bad";
  $("page-status").textContent = e instanceof ApiError ? `The node refused: ${e.code}: ${e.reason}`
                                                       : `Something went wrong: ${e.message}`;
});
