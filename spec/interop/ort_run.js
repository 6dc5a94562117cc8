// ONNX Runtime (the npm package onnxruntime-node) on nn's ONNX exports, for
// `make check-onnx`.
//
//   node spec/interop/ort_run.js DIR NAME...
//
// For each NAME, runs DIR/NAME.onnx on every row of DIR/NAME.json's inputs
// at once (one batch: the batch dimension must be free) and compares with
// the outputs nn computed; prints "NAME onnxruntime <max abs difference>"
// and exits 1 if any is above 1e-5.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

const TOLERANCE = 1e-5;

async function check(dir, name) {
  const data = JSON.parse(fs.readFileSync(path.join(dir, name + '.json'), 'utf8'));
  const session = await ort.InferenceSession.create(path.join(dir, name + '.onnx'));
  const rows = data.inputs.length;
  // ids (an Embedding's input) as int64, as PyTorch's graphs take them
  const x = data.ids
    ? new ort.Tensor('int64', BigInt64Array.from(data.inputs.flat().map(BigInt)), [rows, data.n_in])
    : new ort.Tensor('float32', Float32Array.from(data.inputs.flat()), [rows, data.n_in]);
  const result = await session.run({ [session.inputNames[0]]: x });
  const y = result[session.outputNames[0]];
  const want = data.outputs.flat();
  if (y.data.length !== want.length) throw new Error(name + ': ' + y.data.length + ' outputs');
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(y.data[i] - want[i]);
    if (!(d <= worst)) worst = d;
  }
  console.log(name + ' onnxruntime ' + worst.toPrecision(3));
  return worst <= TOLERANCE;
}

(async () => {
  const [dir, ...names] = process.argv.slice(2);
  let ok = true;
  for (const name of names) ok = (await check(dir, name)) && ok;
  process.exit(ok ? 0 : 1);
})().catch((e) => { console.error(e); process.exit(1); });
