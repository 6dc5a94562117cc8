// lenet_ort.js: ONNX Runtime's side of spec/bench/lenet.lua (npm's
// onnxruntime-node), on one intra-op and one inter-op thread.
//
//   NODE_PATH=build/onnxruntime/node_modules node spec/bench/lenet_ort.js MODEL C H W
//
// MODEL is the LeNet-5 of lenet.lua as nn's ONNX writer exports it: its
// input [batch, C, H, W], the batch dimension free.  Prints
// "ort.lenet.single V ns" (one image, a 1-row batch) and
// "ort.lenet.batch256 V ns" (a batch of 256, per image), each the median of
// 7 runs of the process's CPU time, as lenet_torch.py measures PyTorch's.
// Not a spec and not part of nn: make bench-conv installs the package.
'use strict';
const ort = require('onnxruntime-node');

const RUNS = 7;

function cpuNs() {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

// The median over RUNS of n runs of f (awaited one after another), per run.
async function medianNs(f, n) {
  const times = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = cpuNs();
    for (let i = 0; i < n; i++) await f();
    times.push((cpuNs() - t0) / n);
  }
  times.sort((a, b) => a - b);
  return times[(RUNS - 1) >> 1];
}

// rows images of shape chw, the values lenet.lua gives its own.
function images(rows, chw) {
  const nIn = chw[0] * chw[1] * chw[2], x = new Float32Array(rows * nIn);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < nIn; c++) x[r * nIn + c] = (((r + 1) * 7 + c + 1) % 17) / 17;
  return new ort.Tensor('float32', x, [rows, ...chw]);
}

(async () => {
  const [model, ...dims] = process.argv.slice(2);
  const chw = dims.map(Number);
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all' });
  const name = session.inputNames[0];
  const one = { [name]: images(1, chw) }, batch = { [name]: images(256, chw) };
  await session.run(one);                // warm up: the first run plans the graph
  await session.run(batch);
  const single = await medianNs(() => session.run(one), 200);
  const b = await medianNs(() => session.run(batch), 4) / 256;
  console.log('ort.lenet.single ' + single.toFixed(1) + ' ns');
  console.log('ort.lenet.batch256 ' + b.toFixed(1) + ' ns');
})().catch((e) => { console.error(e); process.exit(1); });
