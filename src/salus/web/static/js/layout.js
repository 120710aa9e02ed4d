// What every page's header shows: where you are, and who this browser is signed in as.
import { Session } from "./session.js";
import { $, el, shortDid } from "./ui.js";

for (const a of document.querySelectorAll("nav a")) {
  if (new URL(a.href).pathname === location.pathname) a.setAttribute("aria-current", "page");
}

// The signed-in member, shown in #who; null (and a sign-in link) when there is none.
export async function signedIn() {
  const who = $("who");
  const session = await Session.resume();
  if (!who) return session;
  if (!session) {
    who.replaceChildren("Not signed in. ", el("a", { href: "/ui/" }, "Sign in with your key"));
    return null;
  }
  const out = el("button", { type: "button", onclick: async () => {
    await Session.signOut();
    location.assign("/ui/");
  } }, "Sign out");
  who.replaceChildren("Signed in as ", el("code", { title: session.did }, shortDid(session.did)),
                      " ", out);
  return session;
}

// For pages that need a member: the session, or a sign-in prompt in `main` and null.
export async function requireSession() {
  const session = await signedIn();
  if (!session) {
    document.querySelector("main").replaceChildren(el("p", { role: "alert" },
      "This page acts as a member of the ledger. ", el("a", { href: "/ui/" }, "Sign in"),
      " with your key file first: it stays in this browser."));
  }
  return session;
}
