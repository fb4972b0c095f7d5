// Plain-text tables (src/report/text-table.ts): columns padded to the widest cell, the first
// left-aligned and the rest right-aligned, a dashed rule under the header, null shown as n/a.
import { test } from "node:test";
import assert from "node:assert/strict";
import { textTable } from "../../src/report/text-table.ts";

test("columns padded to the widest cell: first left-aligned, others right-aligned; null is n/a; no trailing spaces", () => {
  const table = textTable(["run", "steps", "AUROC"], [
    ["gcrl", 1200, "0.912"],
    ["simclr-long", 80, null],
  ]);
  assert.equal(
    table,
    [
      "run          steps  AUROC",
      "-----------  -----  -----",
      "gcrl          1200  0.912",
      "simclr-long     80    n/a",
    ].join("\n"),
  );
  assert.equal(textTable(["a", "b"], []), "a  b\n-  -", "a header alone");
});
