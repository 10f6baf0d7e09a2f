// Bundles viewer/viewer.js with its npm imports into one browser script:
//   node build-viewer.mjs OUT_DIR
// and copies viewer/index.html beside it.
import { build } from "esbuild";
import { copyFileSync } from "node:fs";
import { join } from "node:path";

const out = process.argv[2];
await build({
  entryPoints: ["viewer/viewer.js"],
  bundle: true,
  format: "iife",
  platform: "browser",
  target: "chrome120",
  outfile: join(out, "viewer.bundle.js"),
  logLevel: "error",
});
copyFileSync("viewer/index.html", join(out, "index.html"));
