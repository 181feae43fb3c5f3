// ESLint for the page's modules (src/signlens/serve/static), its service worker and the node helpers of
// the tests (tests/js); `make lint` runs it from the repository root: `eslint -c web/eslint.config.mjs`.
import js from "@eslint/js";
import globals from "globals";

export default [
  js.configs.recommended,
  {
    rules: {
      eqeqeq: ["error", "always"],
      "no-var": "error",
      "prefer-const": ["error", { destructuring: "all" }],
      "no-unused-vars": ["error", { caughtErrors: "none" }],
    },
  },
  {
    files: ["src/signlens/serve/static/**/*.mjs"],
    languageOptions: { sourceType: "module", globals: globals.browser },
  },
  {
    // A classic script: module service workers are not in every browser yet.
    files: ["src/signlens/serve/static/sw.js"],
    languageOptions: { sourceType: "script", globals: globals.serviceworker },
  },
  {
    files: ["tests/js/**/*.mjs"],
    languageOptions: { sourceType: "module", globals: globals.node },
  },
];
