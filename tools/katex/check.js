// Parse every formula given as a JSON array on stdin with KaTeX in strict mode.
// Prints a JSON array of {index, tex, error} for the formulas that fail; exit 1 if any fail.
// Used by tests/test_latex_markdown.py; install with: npm ci --prefix tools/katex
"use strict";
const katex = require("katex");
let input = "";
process.stdin.on("data", (d) => { input += d; });
process.stdin.on("end", () => {
  const formulas = JSON.parse(input);
  const failures = [];
  formulas.forEach((tex, index) => {
    try {
      katex.renderToString(tex, {strict: "error", throwOnError: true, displayMode: true});
    } catch (e) {
      failures.push({index, tex, error: String(e.message || e)});
    }
  });
  process.stdout.write(JSON.stringify({version: katex.version, checked: formulas.length, failures}));
  process.exit(failures.length ? 1 : 0);
});
