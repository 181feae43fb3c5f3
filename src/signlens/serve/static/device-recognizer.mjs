// The recogniser in the browser, for the "on this device" mode (source-device.mjs): landmarks from
// MediaPipe (hand-landmarks.mjs: tasks-vision on the CPU, or @mediapipe/hands on WebGL; served from
// /static/ondevice/), the classifier the recogniser exported as one ONNX graph (signlens export), run by
// onnxruntime-web's WebAssembly backend. The graph takes MediaPipe's landmarks as they are, so this file
// does no feature arithmetic: it copies numbers into tensors and reads probabilities out. The tests and
// benchmarks read hands through the same functions the page does.
import { answerRule } from "./answer.mjs";
import { chooseLandmarkPath, frameSearch, loadLandmarks } from "./hand-landmarks.mjs";

const BASE = "/static/ondevice/";
const stats = { loadMs: null, firstAnswerMs: null, frames: 0, landmarkMs: [], classifyMs: [], path: null };
let models = null; // one load per page: {stage, session, meta, ort, live, rule}

// Whether this browser can run the on-device mode and the server has its files.
export async function deviceAvailable() {
  if (typeof WebAssembly !== "object") return false;
  try {
    return (await fetch(`${BASE}recognizer.onnx.json`)).ok; // GET: a service worker cache answers it offline
  } catch {
    return false;
  }
}

let loading = null; // one load per page, however many callers ask at once
export function loadModels(onStatus = () => {}) {
  const path = chooseLandmarkPath();
  if (!models)
    onStatus(
      `Loading the recogniser into this browser (hand landmarks on the ${path === "cpu" ? "CPU" : "GPU"})…`,
    );
  loading =
    loading ||
    load(path).catch((error) => {
      loading = null;
      throw error;
    });
  return loading;
}

async function load(path) {
  const t0 = performance.now();
  // The live session's settings as the Python session defines them (pipeline/session.py), at the
  // model's live threshold, and its answer rule (answer.mjs): written by the build beside the graph.
  const response = await fetch(`${BASE}session.json`);
  if (!response.ok) throw new Error("the on-device build predates session.json: run make install");
  const live = await response.json();
  const ort = await import(`${BASE}ort/ort.wasm.min.mjs`);
  ort.env.wasm.wasmPaths = `${BASE}ort/`;
  ort.env.wasm.numThreads = 1; // threads need cross-origin isolation; one is plenty for this graph
  const meta = await (await fetch(`${BASE}recognizer.onnx.json`)).json();
  const rule = answerRule(live.answer_rule, meta.temperature);
  const session = await ort.InferenceSession.create(`${BASE}recognizer.onnx`, {
    executionProviders: ["wasm"],
  });
  const stage = await loadLandmarks(path);
  models = { stage, session, meta, ort, live, rule };
  stats.loadMs = performance.now() - t0;
  stats.path = stage.name;
  return models;
}

// Graph inputs from one MediaPipe hand; names and order come from the exported graph.
function feeds({ ort, meta }, marks, world, handedness, width, height) {
  const xyz = (points) => Float32Array.from(points.flatMap((p) => [p.x, p.y, p.z]));
  const all = {
    world_landmarks: () => new ort.Tensor("float32", xyz(world), [1, 21, 3]),
    image_landmarks: () => new ort.Tensor("float32", xyz(marks), [1, 21, 3]),
    image_size: () => new ort.Tensor("float32", Float32Array.from([width, height]), [1, 2]),
    is_left: () => new ort.Tensor("float32", Float32Array.from([handedness === "Left" ? 1 : 0]), [1]),
  };
  return Object.fromEntries(meta.inputs.map((name) => [name, all[name]()]));
}

// Load and per-frame timings, the landmark path, frames read: filled in by source-device.mjs's loop.
export function deviceStats() {
  return stats;
}

// MediaPipe on the next video frame: {multiHandLandmarks, multiHandWorldLandmarks, multiHandedness}.
// (Before an unrelated picture, a blank frame, hand-landmarks.mjs's blankFrame(), ends the tracking.)
export async function landmarks(image) {
  return models.stage.detect(image);
}

// pipeline/frame_search.py's fallback over this browser's landmark path, on the session's budget; null
// where the on-device build predates it.
export function createFrameSearch() {
  return models.live.frame_search ? frameSearch(models.stage, models.live.frame_search) : null;
}

// Probabilities for one MediaPipe hand (the first in `results`) in a width x height frame.
export async function classifyHand(results, width, height) {
  const marks = results.multiHandLandmarks[0],
    world = results.multiHandWorldLandmarks[0];
  const output = await models.session.run(
    feeds(models, marks, world, results.multiHandedness[0].label, width, height),
  );
  return output[models.meta.output].data;
}
