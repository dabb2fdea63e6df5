// Engine speed per task type, in this process (no HTTP, no queue): median of several runs.
// Prints one JSON line; bench/run.ts runs it in a child process.
//
//   bun bench/engine.ts [runs]
import { runLocalEngine, type EngineInput } from '../src/engine/local';

const runs = Math.max(1, Number(process.argv[2] ?? 5));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// A real 1024² reference image (a PNG the engine made), so that i2i/i2v include decoding a large upload.
const ref = (await runLocalEngine({ type: 't2i', prompt: 'a forest lake at dawn', parameters: { width: 1024, height: 1024, seed: 7 }, references: [] })).bytes;

const cases: { name: string; input: EngineInput }[] = [
  { name: 't2i 1024×1024', input: { type: 't2i', prompt: 'sunset over the ocean', parameters: { width: 1024, height: 1024 }, references: [] } },
  { name: 'i2i 1024×1024', input: { type: 'i2i', prompt: 'watercolor painting', parameters: { width: 1024, height: 1024 }, references: [ref] } },
  { name: 't2v 512×512, 4 s, 24 fps', input: { type: 't2v', prompt: 'waves rolling on a beach', parameters: { width: 512, height: 512, duration: 4, fps: 24 }, references: [] } },
  // the slowest scene kind (flames and smoke over a forest): the target holds for every prompt, not only the ocean
  { name: 't2v 512×512, 4 s, 24 fps (forest fire)', input: { type: 't2v', prompt: 'a forest fire at night', parameters: { width: 512, height: 512, duration: 4, fps: 24 }, references: [] } },
  { name: 'i2v 512×512, 4 s, 24 fps', input: { type: 'i2v', prompt: 'slow zoom in', parameters: { width: 512, height: 512, duration: 4, fps: 24 }, references: [ref] } },
];

const out: { name: string; runs: number; medianMs: number; minMs: number; maxMs: number; bytes: number }[] = [];
for (const c of cases) {
  await runLocalEngine({ ...c.input, parameters: { ...c.input.parameters, seed: 1 } }); // warm-up (JIT, WASM compile)
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = await runLocalEngine({ ...c.input, parameters: { ...c.input.parameters, seed: 100 + i } });
    times.push(performance.now() - t0);
    bytes = r.bytes.length;
  }
  out.push({ name: c.name, runs, medianMs: median(times), minMs: Math.min(...times), maxMs: Math.max(...times), bytes });
}
console.log(JSON.stringify(out));
