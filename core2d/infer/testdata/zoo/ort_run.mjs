// ort_run.mjs runs one ONNX model in onnxruntime-node, the reference the
// zoo tests and `make bench-zoo` compare core2d/infer with.
//
//   node ort_run.mjs SPEC.json
//
// SPEC: {"model": PATH, "inputs": [{"name", "shape", "file"}], "threads": N,
// "runs": N, "out_dir": PATH or ""}. Input files are raw little-endian
// float32. It writes output i as OUT_DIR/i.bin (raw float32) when out_dir is
// set and prints {"outputs": [{"name", "dims"}], "ms": [per timed run]}.
//
// With "serve": true it then stays up for benchmarks that interleave it
// with the engine: each line {"runs": N} on standard input answers one line
// {"ms": [...]}; end of input ends it.
import { readFileSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { join } from "node:path";
import ort from "onnxruntime-node";

const spec = JSON.parse(readFileSync(process.argv[2], "utf8"));
const session = await ort.InferenceSession.create(spec.model, {
  intraOpNumThreads: spec.threads,
  interOpNumThreads: 1,
  executionMode: "sequential",
  graphOptimizationLevel: "all",
});
const feeds = {};
for (const inp of spec.inputs) {
  const b = readFileSync(inp.file);
  const want = inp.shape.reduce((a, d) => a * d, 1);
  if (b.length !== 4 * want) {
    throw new Error(`${inp.file}: ${b.length} bytes, input ${inp.name} [${inp.shape}] needs ${4 * want}`);
  }
  const data = new Float32Array(want);
  for (let i = 0; i < want; i++) data[i] = b.readFloatLE(4 * i);
  feeds[inp.name] = new ort.Tensor("float32", data, inp.shape);
}
let res = await session.run(feeds); // warm-up, and the outputs written
const ms = [];
for (let r = 0; r < spec.runs; r++) {
  const t0 = process.hrtime.bigint();
  res = await session.run(feeds);
  ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
const outputs = [];
session.outputNames.forEach((name, i) => {
  const t = res[name];
  outputs.push({ name, dims: t.dims.map(Number) });
  if (spec.out_dir) {
    const f = Buffer.alloc(4 * t.data.length);
    for (let j = 0; j < t.data.length; j++) f.writeFloatLE(t.data[j], 4 * j);
    writeFileSync(join(spec.out_dir, `${i}.bin`), f);
  }
});
console.log(JSON.stringify({ outputs, ms }));
if (spec.serve) {
  for await (const line of createInterface({ input: process.stdin })) {
    const runs = JSON.parse(line).runs;
    const times = [];
    for (let r = 0; r < runs; r++) {
      const t0 = process.hrtime.bigint();
      await session.run(feeds);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    console.log(JSON.stringify({ ms: times }));
  }
}
