// The run config on the command line: dotted flags (`--model.d 256`) split from a command's own
// options, and the --help lines of every config key and shortcut (generated from the declarations
// of train/run-config.ts).
import { settingHelpLines, settingRows } from "../util/settings.ts";
import { RUN_DEFAULTS, RUN_SETTINGS, type RunConfig } from "../train/run-config.ts";
import { BUDGET_SHORTCUTS, CONFIG_FLAG_SHORTCUTS, isBooleanKey, RunConfigError } from "../train/run-config-validate.ts";

/**
 * Splits command-line arguments into config flags (any `--a.b VALUE` or `--a.b=VALUE`: a name with
 * a dot) and the rest, so a command can parse its own options strictly and hand the config flags
 * to applyOverrides. A dotted flag without a value is an error, except for boolean keys
 * (`--augment.weak.flip` alone means true).
 */
export function extractConfigFlags(argv: readonly string[]): { flags: Record<string, string>; rest: string[] } {
  const flags: Record<string, string> = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^--([^=\s]+\.[^=\s]+)(?:=(.*))?$/s.exec(arg);
    if (m === null || arg === "--") {
      rest.push(arg);
      continue;
    }
    const name = m[1]!;
    if (Object.hasOwn(flags, name)) throw new RunConfigError("command line", [`--${name} is given twice`]);
    if (m[2] !== undefined) {
      flags[name] = m[2];
      continue;
    }
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith("--")) {
      flags[name] = next;
      i++;
    } else if (isBooleanKey(name)) {
      flags[name] = "true";
    } else {
      throw new RunConfigError("command line", [`--${name}: expected a value`]);
    }
  }
  return { flags, rest };
}

/** Aligned help lines, one per key: `  --model.d N   model width d (…) (default 128)`. */
export function configHelpText(base: RunConfig = RUN_DEFAULTS): string {
  return settingHelpLines(settingRows(RUN_SETTINGS, base));
}

/** Aligned help lines for CONFIG_FLAG_SHORTCUTS: `  --steps N   = --budget.steps N (…)`. */
export function shortcutHelpText(): string {
  const rows = settingRows(RUN_SETTINGS);
  const rows2 = Object.entries(CONFIG_FLAG_SHORTCUTS).map(([name, path]) => {
    const type = rows.find((r) => r.path === path)!.placeholder;
    const note = BUDGET_SHORTCUTS.includes(name) ? " (the other budget limits become null)" : "";
    return [`--${name} ${type}`, `= --${path}${note}`] as const;
  });
  const width = Math.max(...rows2.map(([flag]) => flag.length));
  return rows2.map(([flag, help]) => `  ${flag.padEnd(width)}  ${help}`).join("\n");
}
