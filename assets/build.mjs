// Builds PAM's front-end assets into pam/static/dist/ (git-ignored).
// GOV.UK Frontend's Sass is compiled with PAM's own settings: Arial rather than the
// GDS Transport font (PAM is not a GOV.UK service), and our own asset path.
import { mkdirSync, copyFileSync, writeFileSync, cpSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as sass from "sass";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "pam", "static", "dist");
mkdirSync(out, { recursive: true });

const css = sass.compile(join(root, "assets", "scss", "pam.scss"), {
  loadPaths: [join(root, "node_modules"), root],
  style: "compressed",
  quietDeps: true,
  silenceDeprecations: ["import", "global-builtin"],
});
writeFileSync(join(out, "pam.css"), css.css);
writeFileSync(join(out, "plotly.css"), sass.compile(join(root, "assets", "scss", "plotly.scss"), { style: "compressed" }).css);

// MoJ Frontend's Sass forwards GOV.UK Frontend's base with a fixed configuration, so
// it cannot be compiled with our font settings (Sass configures a module once). Its
// prebuilt stylesheet is used instead, with the two settings that matter rewritten:
// the font (no GDS Transport outside GOV.UK) and where its images are served from.
const mojCss = readFileSync(join(root, "node_modules/@ministryofjustice/frontend/moj/moj-frontend.min.css"), "utf8")
  .replaceAll("GDS Transport,arial,sans-serif", "arial,sans-serif")
  .replaceAll("/assets/images/", "/static/dist/moj/images/");
writeFileSync(join(out, "moj-frontend.css"), mojCss);
cpSync(join(root, "node_modules/@ministryofjustice/frontend/moj/assets/images"), join(out, "moj", "images"), { recursive: true });

const copies = [
  ["node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js", "govuk-frontend.min.js"],
  ["node_modules/@ministryofjustice/frontend/moj/moj-frontend.min.js", "moj-frontend.min.js"],
];
for (const [from, to] of copies) copyFileSync(join(root, from), join(out, to));
cpSync(join(root, "assets", "js"), join(out, "js"), { recursive: true });

// Plotly's basic bundle (scatter, bar, pie: what PAM draws). Its one CDN address is the
// default for map outlines, which PAM never draws; it is pointed at our own static folder
// so nothing served can reach for the internet.
const plotly = readFileSync(join(root, "node_modules/plotly.js-basic-dist-min/plotly-basic.min.js"), "utf8")
  .replaceAll("https://cdn.plot.ly/un/", "/static/dist/topojson/");
writeFileSync(join(out, "js", "plotly.min.js"), plotly);
cpSync(join(root, "assets", "images"), join(out, "images"), { recursive: true });
console.log(`assets built in ${out}`);
