// The tables of settings in docs/configs.md and docs/evaluation.md, generated from the declarations
// (train/run-config.ts, eval/eval-settings.ts), so a key's help, type and default are written once.
// `node --import tsx scripts/docs-settings.ts` rewrites the blocks; test/cli/settings-docs.test.ts
// keeps the committed pages equal to what this generates.
import { settingAt, settingRows, settingsMarkdown, type SettingRow } from "../util/settings.ts";
import { RUN_SETTINGS } from "../train/run-config.ts";
import { EVAL_SETTINGS } from "../eval/eval-settings.ts";

/** A generated block: the lines between `<!-- generated: NAME -->` and `<!-- /generated: NAME -->`. */
export interface GeneratedBlock {
  file: string;
  name: string;
  text: string;
}

/** The run config's keys, one table per section (augment: per view). */
export function runConfigTables(): string {
  const rows = settingRows(RUN_SETTINGS);
  const sectionOf = (r: SettingRow): string => (r.path.startsWith("augment.") ? r.path.split(".").slice(0, 2).join(".") : r.path.split(".")[0]!);
  const sections = [...new Set(rows.map(sectionOf))];
  return sections.map((s) => `**${s}**\n\n${settingsMarkdown(rows.filter((r) => sectionOf(r) === s))}`).join("\n\n");
}

/** The evaluation settings: library key, command-line option, value form, default, meaning. */
export function evalSettingsTable(): string {
  return settingsMarkdown(settingRows(EVAL_SETTINGS), (p) => `\`${p}\``, {
    keyHeader: "key (`EvalSettings`)",
    optionOf: (p) => `\`--${settingAt(EVAL_SETTINGS, p)!.info.flag ?? p}\``,
  });
}

export function generatedBlocks(): GeneratedBlock[] {
  return [
    { file: "docs/configs.md", name: "run config keys", text: runConfigTables() },
    { file: "docs/evaluation.md", name: "eval settings", text: evalSettingsTable() },
  ];
}

const open = (name: string): string => `<!-- generated: ${name} (from the declarations; scripts/docs-settings.ts) -->`;
const close = (name: string): string => `<!-- /generated: ${name} -->`;

/** `doc` with the block's text between its markers (which must be there once each). */
export function withBlock(doc: string, block: GeneratedBlock): string {
  const start = doc.indexOf(open(block.name));
  const end = doc.indexOf(close(block.name));
  if (start < 0 || end < start) throw new Error(`${block.file}: no ${open(block.name)} … ${close(block.name)} markers`);
  return `${doc.slice(0, start)}${open(block.name)}\n\n${block.text}\n\n${doc.slice(end)}`;
}
