/**
 * The lab report (`LAB.md`): for each experiment the claim, the verdict, the measured answer, the protocol, the
 * command that produced the numbers, then the tables and figures; a summary table first. Plain Markdown, so it
 * reads on GitHub, in an editor, or rendered to HTML with any converter.
 */
import type { ExperimentRecord, LabScale } from './types.js';

export interface ReportInput {
  records: readonly ExperimentRecord[];
  failures: readonly { name: string; error: string }[];
  seconds: number;
  command: string;
  scale: LabScale;
  backend: string;
  data: string;
}

function duration(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds - m * 60);
  return m > 0 ? `${m} min ${s} s` : `${s} s`;
}

export function renderReport(r: ReportInput): string {
  const lines: string[] = [];
  lines.push('# The convkit lab: design claims about CNNs, measured on real images', '');
  lines.push(
    'Every number below was produced by the command printed beside it, on real Fashion-MNIST images, with the seeds given.',
    'Each experiment also wrote `NAME.json` (all measurements) and its figures next to this file.',
    '',
    `- Command: \`${r.command}\``,
    `- Scale: ${r.scale}${r.scale === 'full' ? '' : ' (a smoke run: the numbers show that the machinery works and mean little)'}`,
    `- Data: ${r.data}`,
    `- Backend: ${r.backend}`,
    `- Wall time of the whole run: ${duration(r.seconds)}`,
    '',
  );
  lines.push('| # | claim | verdict | measured | time |', '| --- | --- | --- | --- | --- |');
  for (const e of r.records) lines.push(`| ${e.index} | [${e.title}](#${e.index}-${slug(e.title)}) | **${e.verdict}** | ${e.summary.replace(/\|/g, '\\|')} | ${duration(e.seconds)} |`);
  for (const f of r.failures) lines.push(`| - | ${f.name} | **failed** | ${f.error.replace(/\|/g, '\\|')} | - |`);
  lines.push('');
  for (const e of r.records) {
    lines.push(`## ${e.index}. ${e.title}`, '');
    lines.push(`**Claim.** ${e.claim}`, '');
    lines.push(`**Verdict: ${e.verdict}.** ${e.summary}`, '');
    lines.push(`**Protocol.** ${e.protocol}`, '');
    lines.push(`**Command.** \`${e.command}\` (seeds: ${e.seeds > 1 ? `0-${e.seeds - 1}` : '0'}; ${e.backend}; ${duration(e.seconds)}; results in \`${e.name}.json\`)`, '');
    lines.push(e.markdown, '');
  }
  for (const f of r.failures) lines.push(`## ${f.name}: failed`, '', '```', f.error, '```', '');
  return lines.join('\n');
}

function slug(title: string): string {
  return title.toLowerCase().replace(/[^a-z0-9 -]/g, '').trim().replace(/ /g, '-');
}
