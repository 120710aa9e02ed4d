// Signing in: a key file imported into this browser, or a new patient's key made here
// (its backup downloaded before it is used), then registered on the ledger.
import { createKeyFile, KeyFileError } from "./keys.js";
import { signedIn } from "./layout.js";
import { Session } from "./session.js";
import { currentRoles } from "./roles.js";
import { $, el, onSubmit, show, verdict } from "./ui.js";

// Which pages a member's roles (salus.ledger.members.ROLES) lead to.
const PAGES = [
  ["patient", "/ui/pages/patient", "My records, grants and access log"],
  ["clinician", "/ui/pages/clinician", "Find a patient and read their record"],
  ["emergency_clinician", "/ui/pages/clinician", "Find a patient and read their record"],
  ["privacy_officer", "/ui/pages/privacy", "Review emergency accesses"],
  ["auditor", "/ui/pages/privacy", "Review emergency accesses"],
  ["clinician", "/ui/pages/credentials", "My credentials wallet, and verifying others'"],
  ["learner", "/ui/pages/education", "My EPA and milestone progress, CME hours"],
  ["educator", "/ui/pages/education", "My learners, teaching lineage and CME hours"],
  ["assessor", "/ui/pages/education", "Learners' progress"],
  ...["supply_operator", "pharmacist", "auditor"].flatMap((role) => [
    [role, "/ui/pages/trace", "Trace a pack: its chain of custody"],
    [role, "/ui/pages/recalls", "Recalls, your supply notices and suspect packs"]]),
  ["supply_operator", "/ui/pages/footprint", "Carbon footprint and labour of your packs"],
  ["patient", "/ui/pages/rewards", "My rewards: points, statement and catalogue"],
  ...["rewards_officer", "admin", "auditor"].map((role) =>
    [role, "/ui/pages/programmes", "Rewards programmes: terms and totals"]),
];

async function describe(session) {
  let member;
  $("member").hidden = false;
  try {
    member = await session.member();
  } catch (e) {
    show($("member-facts"), [["Key", session.did], ["Your member record", e.message]]);
    $("next").replaceChildren();
    return;
  }
  if (!member) {
    show($("member-facts"), [["Key", session.did], ["On the ledger", "not a member yet"]]);
    $("next").replaceChildren(el("li", {}, "An organisation's admin enrols staff; a patient registers with a new key (below)."));
    return;
  }
  const roles = currentRoles(member);
  show($("member-facts"), [["Member", member.id ?? session.did], ["Kind", member.kind ?? "—"],
                           ["Organisation", member.org ?? "—"],
                           ["Roles", [...roles].join(", ") || "—"]]);
  if (member.kind === "patient") roles.add("patient");
  const links = new Map();
  for (const [role, href, text] of PAGES) if (roles.has(role)) links.set(href, text);
  links.set("/ui/pages/credentials", links.get("/ui/pages/credentials") ?? "Verify a credential");
  links.set("/ui/pages/explorer", "The ledger: blocks and proofs");
  $("next").replaceChildren(...[...links].map(([href, text]) => el("li", {}, el("a", { href }, text))));
}

async function readKeyFile(file) {
  let doc;
  try {
    doc = JSON.parse(await file.text());
  } catch {
    throw new KeyFileError("that file is not a key file (not JSON)");
  }
  return doc;
}

onSubmit($("import"), "import-status", async (form) => {
  const session = await Session.signIn(await readKeyFile(form.get("file")));
  $("import").reset();  // the file's contents go no further than this function
  await signedIn();
  await describe(session);
  return "Signed in. Your key is kept in this browser only.";
});

let created = null;
let backupUrl = null;

$("create").addEventListener("click", async () => {
  created = await createKeyFile();
  if (backupUrl) URL.revokeObjectURL(backupUrl);
  backupUrl = URL.createObjectURL(new Blob([JSON.stringify(created, null, 2) + "\n"],
                                           { type: "application/json" }));
  $("download").href = backupUrl;
  $("backup").hidden = false;
  $("register").disabled = true;
  verdict(true, "Key created. Download its backup to go on.", "new-status");
  $("download").focus();
});

$("download").addEventListener("click", () => {
  // The download has been asked for; registering is allowed from here on.
  setTimeout(() => { $("register").disabled = false; }, 0);
});

$("register").addEventListener("click", async () => {
  if (!created) return;
  $("register").disabled = true;
  try {
    const session = await Session.signIn(created);
    await session.call("membership", "register_patient", { encryption_key: created.encryption_did });
    created = null;
    URL.revokeObjectURL(backupUrl);
    $("backup").hidden = true;
    await signedIn();
    await describe(session);
    verdict(true, "You are registered as a patient.", "new-status");
  } catch (e) {
    $("register").disabled = false;
    verdict(false, e.message, "new-status");
  }
});

signedIn().then((session) => session && describe(session));
