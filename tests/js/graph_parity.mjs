// Runs the exported recogniser graph in onnxruntime-web (its WebAssembly backend, the same package
// and build the page loads), one hand per call as the page does.
// Usage: node graph_parity.mjs MODEL.onnx IN.json OUT.json
// IN: {rows, inputs: {name: {dims: [...per-row dims], data: [flat float32 values, row-major]}}}
// OUT: {probabilities: [[...], ...], ms: [per-call milliseconds], load_ms}
import { readFileSync, writeFileSync } from "node:fs";
import * as ort from "../../web/node_modules/onnxruntime-web/dist/ort.wasm.min.mjs";

const [model, inPath, outPath] = process.argv.slice(2);
ort.env.wasm.numThreads = 1;
const t0 = performance.now();
const session = await ort.InferenceSession.create(new Uint8Array(readFileSync(model)), {
  executionProviders: ["wasm"],
});
const loadMs = performance.now() - t0;
const { rows, inputs } = JSON.parse(readFileSync(inPath, "utf8"));
const probabilities = [],
  ms = [];
for (let r = 0; r < rows; r++) {
  const feeds = {};
  for (const [name, { dims, data }] of Object.entries(inputs)) {
    const size = dims.reduce((a, b) => a * b, 1);
    feeds[name] = new ort.Tensor("float32", Float32Array.from(data.slice(r * size, (r + 1) * size)), [
      1,
      ...dims,
    ]);
  }
  const start = performance.now();
  const result = await session.run(feeds);
  ms.push(performance.now() - start);
  probabilities.push(Array.from(result[session.outputNames[0]].data));
}
writeFileSync(outPath, JSON.stringify({ probabilities, ms, load_ms: loadMs, inputs: session.inputNames }));
