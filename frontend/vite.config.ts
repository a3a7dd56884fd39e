// The dashboard bundle: one JS file, one CSS file, no inline script (the CSP forbids it),
// plus staticwebapp.config.json copied beside index.html for the Static Web App.
import { copyFileSync } from "node:fs";
import { resolve } from "node:path";
import { defineConfig } from "vite";

export default defineConfig({
  base: "./",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
  plugins: [
    {
      name: "static-web-app-config",
      closeBundle() {
        copyFileSync(
          resolve(import.meta.dirname, "staticwebapp.config.json"),
          resolve(import.meta.dirname, "dist/staticwebapp.config.json"),
        );
      },
    },
  ],
});
