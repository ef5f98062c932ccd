// Builds the console into one directory of static files the gateway serves at /admin:
//   node build.mjs <out-dir>
// index.html, app.js (Preact, uPlot and src/, bundled and minified) and app.css (uPlot's and
// ours). Every file of src/pages/ is a page: the virtual module "console:pages" lists them, so a
// new page is one new file and nothing else.
import * as esbuild from "esbuild";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(process.argv[2] || "dist");
const pagesDir = path.join(here, "src", "pages");

const pagesPlugin = {
  name: "console-pages",
  setup(build) {
    build.onResolve({ filter: /^console:pages$/ }, () => ({ path: "pages", namespace: "pages" }));
    build.onLoad({ filter: /.*/, namespace: "pages" }, () => {
      const files = fs.readdirSync(pagesDir).filter((f) => f.endsWith(".jsx")).sort();
      const imports = files.map((f, i) => `import * as p${i} from ${JSON.stringify("./" + f)};`);
      const list = files.map((f, i) => `{ id: ${JSON.stringify(f.slice(0, -4))}, ...p${i} }`);
      return {
        contents: `${imports.join("\n")}\nexport default [${list.join(", ")}];`,
        resolveDir: pagesDir,
        watchFiles: files.map((f) => path.join(pagesDir, f)),
        watchDirs: [pagesDir],
      };
    });
  },
};

fs.mkdirSync(out, { recursive: true });
await esbuild.build({
  entryPoints: [path.join(here, "src", "main.jsx")],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  jsx: "automatic",
  jsxImportSource: "preact",
  outfile: path.join(out, "app.js"),
  plugins: [pagesPlugin],
  logLevel: "warning",
});
fs.writeFileSync(
  path.join(out, "app.css"),
  fs.readFileSync(path.join(here, "node_modules", "uplot", "dist", "uPlot.min.css"), "utf8") +
    "\n" + fs.readFileSync(path.join(here, "src", "console.css"), "utf8"),
);
fs.copyFileSync(path.join(here, "src", "index.html"), path.join(out, "index.html"));
