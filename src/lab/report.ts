/**
 * The lab report (`LAB.md`): for each experiment the claim, the verdict, the measured answer, the protocol, the
 * command that produced the numbers, then the tables and figures; a summary table first. Plain Markdown, so it
 * reads on GitHub, in an editor, or rendered to HTML with any converter.
 */
import type { ExperimentRecord, LabScale, RunTally } from './types.js';
import { EXPERIMENTS } from './experiments/index.js';
import { sideBySide, type PytorchResult } from './pytorch.js';

export interface ReportInput {
  records: readonly ExperimentRecord[];
  failures: readonly { name: string; error: string }[];
  seconds: number;
  /** The command(s) that produced the records. */
  command: string | readonly string[];
  scale: LabScale;
  /** Extra notes for the header (e.g. how the run was split over processes). */
  notes?: readonly string[];
  /** Markdown placed after the summary table (e.g. a discussion of results that contradict a claim). */
  discussion?: string;
  backend: string;
  data: string;
  /** PyTorch's results by experiment name (lab/pytorch/NAME.json), set beside convkit's. */
  pytorch?: Readonly<Record<string, PytorchResult>>;
  /** Where the PyTorch results were read from, as the report should name it (default `pytorch/`). */
  pytorchDir?: string;
}

function duration(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds - m * 60);
  return m > 0 ? `${m} min ${s} s` : `${s} s`;
}

/** Where the training runs of a resumed experiment came from (its wall time covers only the runs made last). */
export function runsLine(t: RunTally, experiment: string): string {
  const when = (iso: string): string => `${iso.slice(0, 16).replace('T', ' ')} UTC`;
  const where = t.sources.map((s) => `${s.runs} on ${s.machine} (${s.backend}) at commit ${s.commit}, finished ${when(s.first)}${s.last !== s.first ? ` to ${when(s.last)}` : ''}, load average up to ${s.maxLoad.toFixed(1)}`);
  return `**Runs.** ${t.made + t.loaded} training runs: ${t.made} made by the command's last invocation, ${t.loaded} loaded from earlier invocations of it with \`--resume\` (\`runs/${experiment}/\`); their training time adds up to ${duration(t.trainingSeconds)}. Made on: ${where.join('; ')}.`;
}

export function renderReport(r: ReportInput): string {
  const lines: string[] = [];
  lines.push('# The convkit lab: design claims about CNNs, measured on real images', '');
  lines.push(
    'Every number below was produced by the command printed beside it, on real Fashion-MNIST images, with the seeds given.',
    'Each experiment also wrote `NAME.json` (all measurements) and its figures next to this file.',
    '',
    ...(typeof r.command === 'string' ? [`- Command: \`${r.command}\``] : [`- Commands: ${r.command.map((c) => `\`${c}\``).join('; ')}`]),
    `- Scale: ${r.scale}${r.scale === 'full' ? '' : ' (a smoke run: the numbers show that the machinery works and mean little)'}`,
    `- Data: ${r.data}`,
    `- Backend: ${r.backend}`,
    `- Wall time of the whole run: ${duration(r.seconds)}`,
    ...(r.notes ?? []).map((n) => `- ${n}`),
    '',
  );
  // A second experiment with the same number (a variant, e.g. a longer budget) is numbered 3b, 7b, ...
  const seen = new Map<number, number>();
  const label = new Map(r.records.map((e) => {
    const k = seen.get(e.index) ?? 0;
    seen.set(e.index, k + 1);
    return [e, k === 0 ? String(e.index) : `${e.index}${String.fromCharCode(97 + k)}`] as const;
  }));
  const dir = r.pytorchDir ?? 'pytorch';
  const torch = new Map(r.records.map((e) => {
    const t = r.pytorch?.[e.name];
    return [e, t ? sideBySide(EXPERIMENTS.find((x) => x.name === e.name), e, t, `${dir}/${e.name}.json`) : undefined] as const;
  }));
  lines.push('| # | claim | verdict (convkit) | verdict (PyTorch) | measured | time |', '| --- | --- | --- | --- | --- | --- |');
  for (const e of r.records) {
    const t = torch.get(e);
    const theirs = t?.pytorch ? `**${t.pytorch.verdict}**${t.disagreements.length ? ` (disagree on ${t.disagreements.length} metric${t.disagreements.length === 1 ? '' : 's'})` : ''}` : '-';
    lines.push(`| ${label.get(e)} | [${e.title}](#${label.get(e)}-${slug(e.title)}) | **${e.verdict}** | ${theirs} | ${e.summary.replace(/\|/g, '\\|')} | ${duration(e.seconds)} |`);
  }
  for (const f of r.failures) lines.push(`| - | ${f.name} | **failed** | - | ${f.error.replace(/\|/g, '\\|')} | - |`);
  lines.push('');
  if (r.discussion) lines.push(r.discussion.trim(), '');
  for (const e of r.records) {
    lines.push(`## ${label.get(e)}. ${e.title}`, '');
    lines.push(`**Claim.** ${e.claim}`, '');
    lines.push(`**Verdict: ${e.verdict}.** ${e.summary}`, '');
    lines.push(`**Protocol.** ${e.protocol}`, '');
    lines.push(`**Command.** \`${e.command}\` (seeds: ${e.seeds > 1 ? `0-${e.seeds - 1}` : '0'}; ${e.backend}; ${duration(e.seconds)}; results in \`${e.name}.json\`)`, '');
    if (e.runs && e.runs.loaded > 0) lines.push(runsLine(e.runs, e.name), '');
    lines.push(e.markdown, '');
    const t = torch.get(e);
    if (t) lines.push(t.markdown, '');
  }
  for (const f of r.failures) lines.push(`## ${f.name}: failed`, '', '```', f.error, '```', '');
  return lines.join('\n');
}

/**
 * Rebuild the report from experiment records (the `NAME.json` files of a run), e.g. when the experiments ran
 * in separate processes. The wall time is from the first start to the last end.
 */
export function reportFromRecords(records: readonly ExperimentRecord[], notes: readonly string[] = [], discussion?: string, pytorch?: Readonly<Record<string, PytorchResult>>, pytorchDir?: string): string {
  if (records.length === 0) throw new Error('lab report: no experiment results (NAME.json) found');
  const sorted = [...records].sort((a, b) => a.index - b.index);
  const start = Math.min(...sorted.map((r) => Date.parse(r.startedAt)));
  const end = Math.max(...sorted.map((r) => Date.parse(r.startedAt) + r.seconds * 1000));
  const commands = [...new Set(sorted.map((r) => r.command))];
  const scales = [...new Set(sorted.map((r) => r.scale))];
  return renderReport({
    records: sorted, failures: [], seconds: (end - start) / 1000, command: commands, scale: scales.length === 1 ? scales[0]! : 'quick',
    backend: [...new Set(sorted.map((r) => r.backend))].join(', '), data: [...new Set(sorted.map((r) => r.data))].join('; '), notes,
    ...(discussion !== undefined ? { discussion } : {}),
    ...(pytorch ? { pytorch } : {}),
    ...(pytorchDir !== undefined ? { pytorchDir } : {}),
  });
}

function slug(title: string): string {
  return title.toLowerCase().replace(/[^a-z0-9 -]/g, '').trim().replace(/ /g, '-');
}
