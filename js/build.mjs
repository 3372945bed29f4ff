// Bundles the front end (entry points js/widget.ts and js/standalone.ts, which import from
// js/data, js/views, js/app and js/lib): the anywidget ESM module (+ its CSS) and the standalone
// IIFE page script.
import * as esbuild from "esbuild";

const watch = process.argv.includes("--watch");
const common = {
  bundle: true,
  minify: !watch,
  sourcemap: watch ? "inline" : false,
  target: "es2020",
  logLevel: "info",
};

const builds = [
  {
    ...common,
    entryPoints: { widget: "js/widget.ts" },
    outdir: "rnnbow_widget/static",
    format: "esm",
  },
  {
    ...common,
    entryPoints: { standalone: "js/standalone.ts" },
    outdir: "rnnbow_widget/static",
    format: "iife",
    loader: { ".css": "text" },
    // widget.ts imports the stylesheet for the ESM build; here it arrives as text instead.
    logOverride: { "ignored-bare-import": "silent" },
  },
];

if (watch) {
  for (const options of builds) {
    const context = await esbuild.context(options);
    await context.watch();
  }
} else {
  await Promise.all(builds.map((options) => esbuild.build(options)));
}
