import type { Figure, MachineInfo, SectionResult } from './results';

/** First lines of the stdout report: what ran where. */
export function renderHeader(machine: MachineInfo, startedAt: string): string[] {
  return [
    `Hookline benchmark — ${machine.cpuModel} × ${machine.cpus}, ${machine.totalMemoryMB} MB, Node ${machine.node}, ${machine.platform}/${machine.arch}`,
    `started ${startedAt}; every figure is divided by a baseline measured in this run`,
  ];
}

export function renderSection(section: SectionResult): string[] {
  const lines = [`${section.id}. ${section.title} (${(section.durationMs / 1000).toFixed(1)} s)`];
  if (section.error !== undefined) {
    lines.push(`   FAILED: ${section.error}`);
    return lines;
  }
  const rows = section.figures.map(figureRow);
  const header = ['figure', 'Hookline', 'baseline', 'ratio', 'target'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] as string).length)));
  const format = (cells: string[]) =>
    `   ${cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] as number) : cell.padStart(widths[column] as number))).join('  ')}`.trimEnd();
  lines.push(format(header), `   ${widths.map((width) => '-'.repeat(width)).join('  ')}`, ...rows.map(format));
  for (const note of section.notes) lines.push(`   · ${note}`);
  return lines;
}

function figureRow(entry: Figure): string[] {
  const target = entry.target === undefined ? '' : `${entry.target.op} ${entry.target.value} ${entry.target.met ? 'ok' : 'MISSED'}`;
  return [
    entry.label,
    `${formatNumber(entry.value)} ${entry.unit}`,
    `${entry.baseline.label}: ${formatNumber(entry.baseline.value)}`,
    Number.isFinite(entry.ratio) ? `${entry.ratio.toFixed(2)}×` : 'n/a',
    target,
  ];
}

/** Three significant digits, thousands separated; small money amounts keep their cents. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  const magnitude = Math.abs(value);
  if (magnitude >= 1_000) return Math.round(value).toLocaleString('en-US');
  if (magnitude >= 100) return value.toFixed(0);
  if (magnitude >= 10) return value.toFixed(1);
  if (magnitude >= 1) return value.toFixed(2);
  if (magnitude === 0) return '0';
  return value.toPrecision(3);
}
