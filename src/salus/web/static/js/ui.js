// Small DOM helpers every page uses: text only (never innerHTML), so nothing a node or a
// record says can become markup or script.

export const $ = (id) => document.getElementById(id);

// An element with attributes and children (strings become text nodes).
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  node.append(...children.flat().filter((c) => c !== undefined && c !== null));
  return node;
}

export function cell(row, text, code = false) {
  const td = row.insertCell();
  td.append(code ? el("code", {}, text) : text);
  return td;
}

// Fill a <dl> with [name, value] pairs.
export function show(list, pairs) {
  list.replaceChildren(...pairs.flatMap(([name, value]) => [el("dt", {}, name),
                                                            el("dd", {}, String(value))]));
}

// A status line: ✔ or ✘ and the text, with class ok or bad.
export function verdict(ok, text, id = "verdict") {
  const p = $(id);
  p.className = ok ? "ok" : "bad";
  p.textContent = (ok ? "✔ " : "✘ ") + text;
}

export function when(ms) {
  return typeof ms === "number" ? new Date(ms).toISOString().replace("T", " ").slice(0, 16) + " UTC"
                                : "—";
}

// Shorten a did for display; the full one stays in the title (tooltip).
export function shortDid(did) {
  const d = String(did ?? "");
  return d.length > 24 ? `${d.slice(0, 16)}…${d.slice(-6)}` : d;
}

// Run `act` for a form's submit, showing its outcome in `status` (an element id).
export function onSubmit(form, status, act) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    try {
      const text = await act(new FormData(form));
      if (text) verdict(true, text, status);
    } catch (e) {
      verdict(false, e.message, status);
    } finally {
      if (button) button.disabled = false;
    }
  });
}
