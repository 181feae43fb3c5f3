// Recognition source "device": the whole recogniser runs in this browser and no frame leaves it.
// Landmarks come from MediaPipe in the browser (hand-landmarks.mjs: tasks-vision on the CPU, or
// @mediapipe/hands on WebGL; served from /static/ondevice/); the classifier is the recogniser exported
// as one ONNX graph (signlens export), run by onnxruntime-web's WebAssembly backend. The graph takes
// MediaPipe's landmarks as they are, so this file does no feature arithmetic: it copies numbers into
// tensors and reads probabilities out. The vote and the speller are speller.mjs, which spells exactly as
// the Python one.
// Same interface as source-server.js: createDeviceSource({onResult, onStatus, onClosed}) -> {start, stop, reset, configure}.
import { blankFrame, chooseLandmarkPath, frameSearch, loadLandmarks } from "./hand-landmarks.mjs";
import { LiveSpeller, decide } from "./speller.mjs";

const BASE = "/static/ondevice/";
const stats = { loadMs: null, firstAnswerMs: null, frames: 0, landmarkMs: [], classifyMs: [], path: null };
let models = null; // one load per page: {stage, session, meta, ort, live}

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
  if (!models) onStatus(`Loading the recogniser into this browser (hand landmarks on the ${path === "cpu" ? "CPU" : "GPU"})…`);
  loading = loading || load(path).catch((error) => { loading = null; throw error; });
  return loading;
}

async function load(path) {
  const t0 = performance.now();
  // The live session's settings as the Python session defines them (pipeline/session.py), with this
  // graph's live threshold: written by the build beside the graph.
  const response = await fetch(`${BASE}session.json`);
  if (!response.ok) throw new Error("the on-device build predates session.json: run make install");
  const live = await response.json();
  const ort = await import(`${BASE}ort/ort.wasm.min.mjs`);
  ort.env.wasm.wasmPaths = `${BASE}ort/`;
  ort.env.wasm.numThreads = 1; // threads need cross-origin isolation; one is plenty for this graph
  const meta = await (await fetch(`${BASE}recognizer.onnx.json`)).json();
  const session = await ort.InferenceSession.create(`${BASE}recognizer.onnx`, { executionProviders: ["wasm"] });
  const stage = await loadLandmarks(path);
  models = { stage, session, meta, ort, live };
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

// Probabilities for one hand's graph inputs (also used by the parity and timing checks).
export async function classify(inputs) {
  const { session, ort, meta } = models;
  const tensors = {};
  for (const name of meta.inputs) {
    const { data, dims } = inputs[name];
    tensors[name] = data instanceof ort.Tensor ? data : new ort.Tensor("float32", Float32Array.from(data), dims);
  }
  const output = await session.run(tensors);
  return output[meta.output].data;
}

// The hand box drawn on the overlay: hands.py's hand_box (15% margin, clipped to the frame).
function handBox(points, width, height, margin = 0.15) {
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const pad = margin * Math.max(x1 - x0, y1 - y0);
  return [Math.max(0, Math.floor(x0 - pad)), Math.max(0, Math.floor(y0 - pad)),
    Math.min(width, Math.ceil(x1 + pad)), Math.min(height, Math.ceil(y1 + pad))];
}

export function deviceStats() { return stats; }

// MediaPipe on one image or video frame: {multiHandLandmarks, multiHandWorldLandmarks, multiHandedness}.
// `fresh`: an unrelated photo, not the next video frame (a blank frame first ends tracking).
export async function landmarks(image, fresh = false) {
  if (fresh) await models.stage.detect(blankFrame()); // no hand: the tracker lets go
  return models.stage.detect(image);
}

// Probabilities for one MediaPipe hand, as the page computes them (also used by the benchmark).
export async function classifyHand(results, width, height) {
  const marks = results.multiHandLandmarks[0], world = results.multiHandWorldLandmarks[0];
  return classify(feeds(models, marks, world, results.multiHandedness[0].label, width, height));
}

export function createDeviceSource({ onResult, onStatus, onClosed = onStatus }) {
  let live = null, chosen = {}; // the speller, made once the session's defaults have loaded; the page's settings
  let running = false, video = null, frame = 0, started = 0, search = null;

  async function step() {
    const width = video.videoWidth, height = video.videoHeight;
    const t0 = performance.now();
    const tracked = await landmarks(video);
    const shows = (r) => r && r.multiHandLandmarks && r.multiHandLandmarks.length;
    // Where the tracker finds no hand, the frame is searched as a photo is (on the session's budget).
    const results = shows(tracked) || !search ? tracked : await search(video, (t0 - started) / 1000);
    const t1 = performance.now();
    const found = shows(results);
    let answer = { label: null, best: null, confidence: 0, top: [] }, points = null, hand = null, t2 = t1;
    if (found) {
      const probs = await classifyHand(results, width, height);
      t2 = performance.now();
      answer = decide(probs, models.meta.class_names, live.settings.threshold);
      // As the Python recogniser: no letter for a hand whose handedness MediaPipe cannot tell (an ear, say);
      // the build's rule, carried in the graph's report (defaults.min_hand_score).
      if (results.multiHandedness[0].score < (models.meta.defaults?.min_hand_score ?? 0)) answer.label = null;
      answer.top = Array.from(probs, (p, i) => [models.meta.class_names[i], p]).sort((a, b) => b[1] - a[1]).slice(0, 3);
      points = results.multiHandLandmarks[0].map((p) => [p.x * width, p.y * height]);
      hand = handBox(points, width, height);
      stats.classifyMs.push(t2 - t1);
    }
    stats.landmarkMs.push(t1 - t0);
    // J and Z from the fingertip's path need the hand's points in pixels, as the Python pipeline's.
    const pixels = found ? results.multiHandLandmarks[0].map((p) => [p.x * width, p.y * height, p.z * width]) : null;
    const spelled = live.step(answer.label, pixels, (performance.now() - started) / 1000);
    // Time to first answer: from opening the page (performance.now()'s origin) to the first letter.
    if (found && answer.label && stats.firstAnswerMs === null) stats.firstAnswerMs = performance.now();
    stats.frames = ++frame;
    onResult({
      type: "result", frame, width, height, hand, landmarks: points, raw: answer.label, label: answer.label,
      best: answer.best, confidence: answer.confidence, top: answer.top, ...spelled,
      ms: Math.round(10 * (t2 - t0)) / 10, source: "device",
    });
  }

  async function loop() {
    while (running) {
      if (video.readyState >= 2 && video.videoWidth) {
        try {
          await step();
        } catch (error) {
          running = false;
          onClosed(`On-device recognition failed: ${error.message}`);
          return;
        }
      }
      await new Promise((resolve) => requestAnimationFrame(resolve));
    }
  }

  return {
    name: "device",
    async start(videoElement) {
      video = videoElement;
      stats.startMs = stats.startMs ?? performance.now();
      try {
        await loadModels(onStatus);
      } catch (error) {
        onClosed(`Cannot run on this device (${error.message}); choose the server mode.`);
        return;
      }
      live = live || new LiveSpeller({ ...models.live.settings, ...chosen }, models.live.motion_seconds);
      if (models.live.frame_search) search = search || frameSearch(models.stage, models.live.frame_search);
      onResult({ type: "settings", settings: live.settings, text: live.text, settingsOnly: true });
      running = true;
      started = performance.now();
      onStatus("Recognising on this device: no frame leaves it.");
      loop();
    },
    stop() { running = false; },
    reset() {
      if (live) live.reset();
      onResult({ type: "reset", text: "", settingsOnly: true });
    },
    configure(values) {
      chosen = { ...chosen, ...values };
      if (!live) return;
      live.configure(values);
      onResult({ type: "settings", settings: live.settings, text: live.text, settingsOnly: true });
    },
  };
}
