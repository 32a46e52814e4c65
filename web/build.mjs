// Builds the web app into registry/http/static/web/ (or --out DIR), deterministically: the same
// sources and lock give the same bytes, so `make web-check` can rebuild into a temporary
// directory and compare with what the node serves.
//
// Output layout (the node's static controller, registry/http/controllers/web.py, serves it):
//   index.html                 the app's only page (no-cache)
//   manifest.json              names of the hashed assets the node needs (Swagger UI for /schema)
//   assets/<name>-<hash>.<ext> every script, style sheet and icon (immutable)
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const outIndex = args.indexOf("--out");
const out = resolve(outIndex >= 0 ? args[outIndex + 1] : join(here, "../registry/http/static/web"));
const assets = join(out, "assets");

rmSync(out, { recursive: true, force: true });
mkdirSync(assets, { recursive: true });

const common = {
  bundle: true,
  minify: true,
  write: false,
  target: ["chrome109", "firefox115", "safari16"],
  legalComments: "none",
  charset: "utf8",
  jsx: "automatic",
  jsxImportSource: "preact",
  logLevel: "warning",
  absWorkingDir: here,
  // The protocol package is bundled from its TypeScript sources (clients/js/src), and every
  // package it imports resolves from web/node_modules, whose versions web/package-lock.json
  // pins: the build never depends on whether clients/js has a node_modules of its own.
  alias: { "@consent-registry/protocol": join(here, "../clients/js/src/index.ts") },
  plugins: [
    {
      name: "resolve-from-web",
      setup(build) {
        build.onResolve({ filter: /^@(noble|scure)\// }, async (a) => {
          if (a.pluginData === "web") return undefined;
          const r = await build.resolve(a.path, { kind: a.kind, resolveDir: here, pluginData: "web" });
          return { path: r.path, errors: r.errors };
        });
      },
    },
  ],
};

function hashed(name, bytes) {
  const digest = createHash("sha256").update(bytes).digest("hex").slice(0, 12);
  const ext = extname(name);
  return `${basename(name, ext)}-${digest}${ext}`;
}

function emit(name, bytes) {
  const file = hashed(name, bytes);
  writeFileSync(join(assets, file), bytes);
  return `assets/${file}`;
}

async function bundle(entry, name, extra = {}) {
  const result = await esbuild.build({ ...common, ...extra, entryPoints: [entry], outdir: "o" });
  const files = {};
  for (const f of result.outputFiles) files[extname(f.path)] = f.contents;
  return { js: emit(`${name}.js`, files[".js"]), css: files[".css"] && emit(`${name}.css`, files[".css"]) };
}

// The hashing worker first: the app needs its (hashed) name.
const worker = await bundle("src/hashing.worker.ts", "hashing.worker", { format: "iife" });
const app = await bundle("src/main.tsx", "app", {
  format: "esm",
  define: { __HASHING_WORKER__: JSON.stringify(worker.js) },
});
const icon = emit("icon.svg", readFileSync(join(here, "src/icon.svg")));

// Swagger UI for /schema, from the swagger-ui-dist package: served by the node, no CDN.
const swaggerDir = join(here, "node_modules/swagger-ui-dist");
const swagger = {
  js: emit("swagger-ui-bundle.js", readFileSync(join(swaggerDir, "swagger-ui-bundle.js"))),
  preset: emit(
    "swagger-ui-standalone-preset.js",
    readFileSync(join(swaggerDir, "swagger-ui-standalone-preset.js")),
  ),
  css: emit("swagger-ui.css", readFileSync(join(swaggerDir, "swagger-ui.css"))),
  favicon: emit("swagger-favicon-32x32.png", readFileSync(join(swaggerDir, "favicon-32x32.png"))),
};
mkdirSync(join(out, "licenses"), { recursive: true });
cpSync(join(swaggerDir, "LICENSE"), join(out, "licenses/swagger-ui-dist.LICENSE.txt"));
cpSync(join(swaggerDir, "NOTICE"), join(out, "licenses/swagger-ui-dist.NOTICE.txt"));

const html = readFileSync(join(here, "index.html"), "utf8")
  .replaceAll("%APP_JS%", app.js)
  .replaceAll("%APP_CSS%", app.css)
  .replaceAll("%ICON%", icon);
writeFileSync(join(out, "index.html"), html);

const manifest = { app: app.js, css: app.css, worker: worker.js, icon, swagger };
writeFileSync(join(out, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`built ${out}`);
