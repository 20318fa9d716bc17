"use strict";
// Mocha reporter for scripts/test.sh: prints mocha's usual spec output and, when the run ends,
// writes the run's counts to the file given by `--reporter-option summary=FILE` as JSON:
// {"passes": N, "failures": N, "pending": N, "tests": N}. A failed hook counts as one failure,
// as in mocha's own summary.
const fs = require("node:fs");
const Mocha = require("mocha");

const { EVENT_RUN_END } = Mocha.Runner.constants;

class SpecWithSummary extends Mocha.reporters.Spec {
  constructor(runner, options = {}) {
    super(runner, options);
    const summaryFile = (options.reporterOption ?? options.reporterOptions ?? {}).summary;
    if (!summaryFile) {
      throw new Error("mocha-summary-reporter: missing --reporter-option summary=FILE");
    }
    runner.once(EVENT_RUN_END, () => {
      const { passes, failures, pending, tests } = this.stats;
      fs.writeFileSync(summaryFile, JSON.stringify({ passes, failures, pending, tests }) + "\n");
    });
  }
}

module.exports = SpecWithSummary;
