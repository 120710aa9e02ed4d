// A QR code as an SVG element built with DOM APIs (the page's CSP allows no markup from
// strings): one white square, and one path of the dark modules.
import { encode } from "uqr";

const SVG = "http://www.w3.org/2000/svg";

export function qrSvg(text, label) {
  const { data, size } = encode(text, { ecc: "M", border: 4 });
  const svg = document.createElementNS(SVG, "svg");
  for (const [name, value] of Object.entries({ viewBox: `0 0 ${size} ${size}`, role: "img",
                                                 "aria-label": label, "shape-rendering": "crispEdges" })) {
    svg.setAttribute(name, value);
  }
  const title = document.createElementNS(SVG, "title");
  title.textContent = label;
  const background = document.createElementNS(SVG, "rect");
  for (const [name, value] of Object.entries({ width: size, height: size, fill: "#ffffff" })) {
    background.setAttribute(name, String(value));
  }
  const dark = [];
  data.forEach((row, y) => row.forEach((on, x) => { if (on) dark.push(`M${x} ${y}h1v1h-1z`); }));
  const modules = document.createElementNS(SVG, "path");
  modules.setAttribute("d", dark.join(""));
  modules.setAttribute("fill", "#000000");
  svg.append(title, background, modules);
  return svg;
}
