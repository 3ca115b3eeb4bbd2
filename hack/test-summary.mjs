// The closing line of `npm test` (hack/test.sh): `N passed, N failed, N skipped`, counted from vitest's
// JSON report plus the static checks the script ran. A missing or unreadable report is one failure more.
// Usage: node hack/test-summary.mjs <vitest.json> <checks passed> <checks failed>
import { readFileSync } from "node:fs";

const [reportPath, passedArg, failedArg] = process.argv.slice(2);
const passedChecks = Number(passedArg);
const failedChecks = Number(failedArg);

let report;
try {
  report = JSON.parse(readFileSync(reportPath, "utf8"));
} catch {
  console.log(`${passedChecks} passed, ${failedChecks + 1} failed`);
  process.exit(0);
}
// A file that fails to load has no failed test in it, but is a failure all the same.
const brokenFiles = report.testResults.filter(
  (f) => f.status === "failed" && !f.assertionResults.some((a) => a.status === "failed"),
).length;
const passed = report.numPassedTests + passedChecks;
const failed = report.numFailedTests + brokenFiles + failedChecks;
console.log(`${passed} passed, ${failed} failed, ${report.numPendingTests + report.numTodoTests} skipped`);
