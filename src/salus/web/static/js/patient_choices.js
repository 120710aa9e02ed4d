// The patient's two standing choices: whether emergency clinicians may break the glass
// (consent.set_break_glass), and erasing every record (records.erase), each signed here.
import { ApiError } from "./api.js";
import { $, onSubmit, verdict } from "./ui.js";

//: The words a patient types to confirm erasure (compared without case or outer spaces).
export const ERASE_WORDS = "erase all my records";
const MAX_ERASE = 1000;  // records.erase takes at most this many ids a call

export class BreakGlass {
  constructor(session, reload) {
    this.session = session;
    this.reload = reload;  // re-reads the consent document and calls show()
    this.allowed = true;
    $("break-glass").addEventListener("click", () => this.toggle());
  }

  show(consent) {
    this.allowed = !consent.break_glass_opt_out;
    $("break-glass").setAttribute("aria-checked", String(this.allowed));
    $("break-glass").disabled = false;  // the choice is known: it may be changed now
    $("break-glass-state").textContent = this.allowed
      ? "On: in an emergency, a clinician may open your records without your consent; you will see it here, and it is reviewed."
      : "Off: you have opted out. No one may open your records without a grant, even in an emergency.";
  }

  async toggle() {
    const button = $("break-glass");
    button.disabled = true;
    try {
      await this.session.call("consent", "set_break_glass", { allowed: !this.allowed });
      verdict(true, `Saved on the ledger: emergency access is ${this.allowed ? "off" : "on"}.`, "break-glass-status");
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      verdict(false, `Not changed: ${e.code}: ${e.reason}`, "break-glass-status");
    } finally {
      button.disabled = false;
    }
    await this.reload();
  }
}

// The erasure form: typed confirmation, then records.erase of every active record.
export function erasure(session, afterwards) {
  onSubmit($("erase"), "erase-status", async (data) => {
    if (String(data.get("confirm") ?? "").trim().toLowerCase() !== ERASE_WORDS) {
      throw new Error(`Nothing erased: type "${ERASE_WORDS}" to confirm.`);
    }
    const index = await session.get("/v1/records", { params: { patient: session.did } });
    const ids = index.records.filter((r) => r.status === "active").map((r) => r.id);
    if (!ids.length) return "You have no records left to erase.";
    try {
      for (let i = 0; i < ids.length; i += MAX_ERASE) {
        await session.call("records", "erase", { patient: session.did, records: ids.slice(i, i + MAX_ERASE) });
      }
    } catch (e) {
      if (e instanceof ApiError) throw new Error(`Refused by the node: ${e.code}: ${e.reason}`);
      throw e;
    } finally {
      $("erase").reset();
      await afterwards();
    }
    return `Erased ${ids.length} records: no custodian will serve them again.`;
  });
}
