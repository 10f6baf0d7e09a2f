// onnxruntime-node peer for the random-weight PointPillars: runs the model
// written by `PP_DUMP=DIR go test -run TestPointPillarsDump ./core2d/infer/`
// on the same real KITTI inputs, compares its outputs with the Go engine's
// and times it with 1 and 2 threads.
//   NODE_PATH=/tmp/peerbench/ortnode/node_modules node pointpillars_ort.js DIR
const ort = require('onnxruntime-node');
const fs = require('fs');
const path = require('path');
const os = require('os');
const dir = process.argv[2];
const REPS = parseInt(process.env.REPS || '5', 10);
const f32 = (p) => { const b = fs.readFileSync(p); return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)); };
const i64 = (p) => { const b = fs.readFileSync(p); return new BigInt64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)); };
(async () => {
  const vox = f32(path.join(dir, 'voxels.bin'));
  const coords = i64(path.join(dir, 'voxel_coords.bin'));
  const P = coords.length / 4;
  const feeds = { voxels: new ort.Tensor('float32', vox, [P, 32, 10]), voxel_coords: new ort.Tensor('int64', coords, [P, 4]) };
  for (const th of [1, 2]) {
    const s = await ort.InferenceSession.create(path.join(dir, 'pointpillars.onnx'),
      { intraOpNumThreads: th, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' });
    let out = await s.run(feeds);
    if (th === 1) {
      for (const name of s.outputNames) {
        const ours = f32(path.join(dir, name + '.go.bin'));
        const theirs = out[name].data;
        let maxAbs = 0, num = 0, den = 0;
        for (let i = 0; i < ours.length; i++) {
          const d = ours[i] - theirs[i];
          maxAbs = Math.max(maxAbs, Math.abs(d)); num += d * d; den += theirs[i] * theirs[i];
        }
        console.log(JSON.stringify({ output: name, dims: out[name].dims, max_abs: maxAbs, rel_l2: Math.sqrt(num / den) }));
      }
    }
    const ts = [];
    for (let r = 0; r < REPS; r++) { const t0 = process.hrtime.bigint(); out = await s.run(feeds); ts.push(Number(process.hrtime.bigint() - t0) / 1e6); }
    ts.sort((a, b) => a - b);
    console.log(JSON.stringify({ peer: 'onnxruntime-node', threads: th, ms_median: ts[ts.length >> 1], ms_min: ts[0], reps: REPS, loadavg: os.loadavg() }));
  }
})();
