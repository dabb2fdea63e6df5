// What AI-content labelling (issue 13) adds to generation, in this process (no HTTP, no queue): the built-in engine
// without any label, against the engine drawing the visible mark plus the metadata label the runner writes
// (AIGC_LABEL=full), and the metadata label alone (AIGC_LABEL=metadata). Runs are interleaved (plain, full,
// metadata, plain, …) with the same seeds, so that the machine's drift hits every variant alike.
// Targets: ≤ 15% for t2i 1024², ≤ 10% for a 4 s 512² video. Writes bench/LABELS.md.
//
//   bun bench/labels.ts [runs]
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runLocalEngine, type EngineInput } from '../src/engine/local';
import { createLabeller } from '../src/labels';
import { sniffMedia } from '../src/media';
import { fmt, median, ROOT } from './lib';

const runs = Math.max(3, Number(process.argv[2] ?? 9));
const key = new Uint8Array(Buffer.from('bench-label-key-0123456789-0123456789-abc'));
const settings = { producer: 'aigc-server', propagator: '', key, verifyKeys: [key], ffmpegPath: null };
const full = createLabeller({ ...settings, mode: 'full' });
const metadata = createLabeller({ ...settings, mode: 'metadata' });

const cases: { name: string; target: number; input: EngineInput }[] = [
  { name: 't2i 1024×1024', target: 0.15, input: { type: 't2i', prompt: 'sunset over the ocean', parameters: { width: 1024, height: 1024 }, references: [] } },
  { name: 't2v 512×512, 4 s, 24 fps', target: 0.1, input: { type: 't2v', prompt: 'waves rolling on a beach', parameters: { width: 512, height: 512, duration: 4, fps: 24 }, references: [] } },
];

type Variant = 'plain' | 'full' | 'metadata';
async function once(input: EngineInput, seed: number, v: Variant): Promise<number> {
  const t0 = performance.now();
  const out = await runLocalEngine({ ...input, parameters: { ...input.parameters, seed }, visibleLabel: v === 'full' });
  if (v !== 'plain') await (v === 'full' ? full : metadata).apply(out.bytes, sniffMedia(out.bytes)!, `task_${seed.toString(16).padStart(20, '0')}`, { marked: v === 'full' });
  return performance.now() - t0;
}

const rows: string[] = [];
const results: { name: string; plain: number; full: number; metadata: number; overhead: number; metaOverhead: number; target: number; spread: string }[] = [];
for (const c of cases) {
  for (const v of ['plain', 'full', 'metadata'] as const) await once(c.input, 1, v); // warm-up (JIT, WASM)
  const t: Record<Variant, number[]> = { plain: [], full: [], metadata: [] };
  const ratios: number[] = [];
  for (let i = 0; i < runs; i++) {
    const seed = 100 + i;
    const p = await once(c.input, seed, 'plain');
    const f = await once(c.input, seed, 'full');
    const m = await once(c.input, seed, 'metadata');
    t.plain.push(p);
    t.full.push(f);
    t.metadata.push(m);
    ratios.push(f / p - 1);
  }
  const r = {
    name: c.name,
    plain: median(t.plain),
    full: median(t.full),
    metadata: median(t.metadata),
    overhead: median(t.full) / median(t.plain) - 1,
    metaOverhead: median(t.metadata) / median(t.plain) - 1,
    target: c.target,
    spread: `${fmt(Math.min(...ratios) * 100)}% … ${fmt(Math.max(...ratios) * 100)}%`,
  };
  results.push(r);
  console.log(JSON.stringify(r));
}

for (const r of results) {
  rows.push(
    `| ${r.name} | ${fmt(r.plain, 0)} | ${fmt(r.full, 0)} | ${fmt(r.metadata, 0)} | **${fmt(r.overhead * 100)}%** (pairs: ${r.spread}) | ${fmt(r.metaOverhead * 100)}% | ≤ ${r.target * 100}% | ${r.overhead <= r.target ? 'met' : 'NOT met'} |`,
  );
}
const md = `# Labelling overhead (bench/labels.ts)

What AI-content labelling adds to a generation with the built-in engine, measured in one process on ${new Date().toISOString().slice(0, 10)}
(${runs} interleaved runs per variant, medians in ms, same seeds). *full* = the engine draws the visible "AI生成" mark on the image /
every frame, then the metadata label is written (AIGC_LABEL=full, the default); *metadata* = the metadata label only.
The "pairs" range is the overhead of each (plain, full) pair of the same seed, i.e. the run-to-run spread.

| case | plain | full | metadata | full overhead | metadata overhead | target | |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}

Reproduce: \`bun bench/labels.ts [runs]\`.
`;
writeFileSync(join(ROOT, 'bench', 'LABELS.md'), md);
console.log(md);
process.exit(0);
