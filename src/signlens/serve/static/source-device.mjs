// Recognition source "device": the whole recogniser runs in this browser (device-recognizer.mjs) and no
// frame leaves it. The vote and the speller are speller.mjs, which spells exactly as the Python one.
// Same interface as source-server.mjs: createDeviceSource({onResult, onStatus, onClosed}) -> {start, stop, reset, configure}.
import { classifyHand, createFrameSearch, deviceStats, landmarks, loadModels } from "./device-recognizer.mjs";
import { answerHand } from "./answer.mjs";
import { LiveSpeller } from "./speller.mjs";

// The hand box drawn on the overlay: hands.py's hand_box (15% margin, clipped to the frame).
function handBox(points, width, height, margin = 0.15) {
  const xs = points.map((p) => p[0]),
    ys = points.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const pad = margin * Math.max(x1 - x0, y1 - y0);
  return [
    Math.max(0, Math.floor(x0 - pad)),
    Math.max(0, Math.floor(y0 - pad)),
    Math.min(width, Math.ceil(x1 + pad)),
    Math.min(height, Math.ceil(y1 + pad)),
  ];
}

export function createDeviceSource({ onResult, onStatus, onClosed = onStatus }) {
  let live = null,
    chosen = {}; // the speller, made once the session's defaults have loaded; the page's settings
  let running = false,
    video = null,
    frame = 0,
    started = 0,
    search = null;
  let models = null; // device-recognizer.mjs's, once loaded: the graph's report (meta), the session (live), the rule
  const stats = deviceStats();

  async function step() {
    const width = video.videoWidth,
      height = video.videoHeight;
    const t0 = performance.now();
    const tracked = await landmarks(video);
    const shows = (r) => r && r.multiHandLandmarks && r.multiHandLandmarks.length;
    // Where the tracker finds no hand, the frame is searched as a photo is (on the session's budget).
    const results = shows(tracked) || !search ? tracked : await search(video, (t0 - started) / 1000);
    const t1 = performance.now();
    const found = shows(results);
    let answer = { label: null, best: null, confidence: 0, top: [] },
      points = null,
      hand = null,
      t2 = t1;
    if (found) {
      const probs = await classifyHand(results, width, height);
      t2 = performance.now();
      const score = results.multiHandedness[0].score;
      answer = answerHand(probs, score, models.meta.class_names, models.rule, live.settings.threshold);
      answer.top = Array.from(probs, (p, i) => [models.meta.class_names[i], p])
        .sort((a, b) => b[1] - a[1])
        .slice(0, 3);
      points = results.multiHandLandmarks[0].map((p) => [p.x * width, p.y * height]);
      hand = handBox(points, width, height);
      stats.classifyMs.push(t2 - t1);
    }
    stats.landmarkMs.push(t1 - t0);
    // J and Z from the fingertip's path need the hand's points in pixels, as the Python pipeline's.
    const pixels = found
      ? results.multiHandLandmarks[0].map((p) => [p.x * width, p.y * height, p.z * width])
      : null;
    const spelled = live.step(answer.label, pixels, (performance.now() - started) / 1000);
    // Time to first answer: from opening the page (performance.now()'s origin) to the first letter.
    if (found && answer.label && stats.firstAnswerMs === null) stats.firstAnswerMs = performance.now();
    stats.frames = ++frame;
    onResult({
      type: "result",
      frame,
      width,
      height,
      hand,
      landmarks: points,
      raw: answer.label,
      label: answer.label,
      best: answer.best,
      confidence: answer.confidence,
      top: answer.top,
      ...spelled,
      ms: Math.round(10 * (t2 - t0)) / 10,
      source: "device",
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
        models = await loadModels(onStatus);
      } catch (error) {
        onClosed(`Cannot run on this device (${error.message}); choose the server mode.`);
        return;
      }
      live =
        live ||
        new LiveSpeller(
          { ...models.live.settings, ...chosen },
          models.live.motion_seconds,
          models.live.repeat,
        );
      search = search || createFrameSearch();
      onResult({ type: "settings", settings: live.settings, text: live.text, settingsOnly: true });
      running = true;
      started = performance.now();
      onStatus("Recognising on this device: no frame leaves it.");
      loop();
    },
    stop() {
      running = false;
    },
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
