// Rewrites the generated tables of settings in docs/ from the declarations (src/cli/settings-docs.ts).
// Usage: node --import tsx scripts/docs-settings.ts
import { readFileSync, writeFileSync } from "node:fs";
import { generatedBlocks, withBlock } from "../src/cli/settings-docs.ts";

for (const block of generatedBlocks()) {
  const before = readFileSync(block.file, "utf8");
  const after = withBlock(before, block);
  if (after !== before) writeFileSync(block.file, after);
  console.log(`${block.file}: ${block.name} ${after === before ? "unchanged" : "rewritten"}`);
}
