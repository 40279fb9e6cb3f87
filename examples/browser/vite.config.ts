// npm run demo:build → examples/browser/dist, a static page (open it through any web server)
import { defineConfig } from "vite";

export default defineConfig({
  root: "examples/browser",
  base: "./",
  // tfjs is most of the bundle; one chunk is fine for a demo
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", chunkSizeWarningLimit: 2000 },
  server: { fs: { allow: ["../.."] } },
});
