// `cmt eval` and `cmt bench` as commander subcommands: their options come from the sections'
// declarations (src/measure/options.ts; src/eval/command.ts, src/bench/command.ts), parsed by the
// CLI's one parser set (options.ts). The `cmt` program (cmt.ts) supplies --pack and --device.
import { Command, Option } from 'commander';
import type { MeasureCommand, MeasureContext, OptionSpec } from '../measure/options';
import { PARSERS } from './options';

/** The declared options in --help order: group by group, each spec with helpAfter moved right after that flag. */
export function helpOrder(groups: MeasureCommand['options']): Array<[string, OptionSpec]> {
  const all = groups.flatMap((g) => Object.entries(g));
  const out = all.filter(([, s]) => !s.helpAfter);
  for (const moved of all.filter(([, s]) => s.helpAfter)) {
    const i = out.findIndex(([, s]) => new Option(s.flags).long === moved[1].helpAfter);
    if (i < 0) throw new Error(`${moved[1].flags}: helpAfter ${moved[1].helpAfter} is not an option`);
    out.splice(i + 1, 0, moved);
  }
  return out;
}

function optionOf(s: OptionSpec): Option {
  const o = new Option(s.flags, s.description);
  const parse = PARSERS[s.kind];
  return parse ? o.argParser<unknown>(parse) : o;
}

export function measureCommand(def: MeasureCommand, ctx: MeasureContext): Command {
  const cmd = new Command(def.name).description(def.description);
  const specs = helpOrder(def.options).map(([key, s]) => ({ key, option: optionOf(s) }));
  for (const s of specs) cmd.addOption(s.option);
  cmd.action(async (parsed: Record<string, unknown>) => {
    const given = Object.fromEntries(specs.map((s) => [s.key, parsed[s.option.attributeName()]]));
    try {
      await def.run(ctx, given);
    } catch (e) {
      process.stderr.write(`cmt ${def.name}: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 1;
    }
  });
  return cmd;
}
