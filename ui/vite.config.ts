// Builds the UI into the Python package (src/graphdock/ui/static), which serves it at `/` and
// its assets under `/ui/`. `make ui` runs this; tests/ui/test_build.py checks the committed
// output is exactly what this config builds from the sources.
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

export default defineConfig({
  base: "/ui/",
  plugins: [react()],
  build: {
    outDir: "../src/graphdock/ui/static",
    emptyOutDir: true,
    // Deterministic, reviewable output: no source maps with absolute paths, no inlined assets.
    sourcemap: false,
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1500,
  },
  server: {
    // `npm run dev` proxies the API to a graphdock on :2024 (`make dev`).
    proxy: Object.fromEntries(
      ["/assistants", "/threads", "/runs", "/info", "/ok"].map((p) => [p, "http://127.0.0.1:2024"]),
    ),
  },
});
