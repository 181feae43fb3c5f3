// The landmark stage of the on-device mode, on one of two paths with one interface:
//  - "cpu": @mediapipe/tasks-vision's HandLandmarker on its CPU delegate (XNNPACK in WebAssembly), with
//    hand_landmarker.task built from the mediapipe Python package's own palm detector and landmark model
//    (scripts/build_ondevice.py): the same weights as the Python pipeline, and the fast path wherever
//    WebGL is emulated in software (headless Chromium, machines without a usable GPU);
//  - "webgl": @mediapipe/hands, which runs its graph on WebGL: the path for a real GPU.
// The page's ?landmarks=cpu|webgl picks one; otherwise chooseLandmarkPath() decides. Both give
// @mediapipe/hands' result shape ({multiHandLandmarks, multiHandWorldLandmarks, multiHandedness}), with
// handedness in the Python pipeline's convention (the legacy Hands solution's labels).

const BASE = "/static/ondevice/";

// MediaPipe's WebAssembly writes its informational lines ("INFO: Created TensorFlow Lite XNNPACK
// delegate for CPU.") to stderr, which Emscripten hands to console.error: pass those to console.info
// so that the console's errors are errors.
const consoleError = console.error.bind(console);
console.error = (...args) => {
  if (typeof args[0] === "string" && /^(INFO|I\d{4} )/.test(args[0])) console.info(...args);
  else consoleError(...args);
};

// "cpu" where WebGL is missing or drawn in software, "webgl" where a GPU draws it.
export function chooseLandmarkPath() {
  const asked = new URLSearchParams(location.search).get("landmarks");
  if (asked === "cpu" || asked === "webgl") return asked;
  try {
    const gl = document.createElement("canvas").getContext("webgl2") || document.createElement("canvas").getContext("webgl");
    if (!gl) return "cpu";
    const info = gl.getExtension("WEBGL_debug_renderer_info");
    const renderer = String(info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
    return /swiftshader|llvmpipe|softpipe|software|basic render/i.test(renderer) ? "cpu" : "webgl";
  } catch {
    return "cpu";
  }
}

let blank = null;
export function blankFrame() {
  if (!blank) {
    blank = document.createElement("canvas");
    blank.width = 320;
    blank.height = 240;
    blank.getContext("2d").fillRect(0, 0, blank.width, blank.height);
  }
  return blank;
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.crossOrigin = "anonymous";
    script.onload = resolve;
    script.onerror = () => reject(new Error(`cannot load ${src}`));
    document.head.appendChild(script);
  });
}

// As the Python video recogniser: one hand, the full models, tracking between frames, 0.5 thresholds.
async function loadCpu() {
  const { FilesetResolver, HandLandmarker } = await import(`${BASE}tasks/vision_bundle.mjs`);
  const fileset = await FilesetResolver.forVisionTasks(`${BASE}tasks`);
  const landmarker = await HandLandmarker.createFromOptions(fileset, {
    baseOptions: { modelAssetPath: `${BASE}tasks/hand_landmarker.task`, delegate: "CPU" },
    runningMode: "VIDEO", numHands: 1,
    minHandDetectionConfidence: 0.5, minHandPresenceConfidence: 0.5, minTrackingConfidence: 0.5,
  });
  let last = 0; // VIDEO mode wants strictly increasing timestamps (ms)
  const detect = (image) => {
    last = Math.max(last + 1, Math.round(performance.now()));
    const r = landmarker.detectForVideo(image, last);
    return {
      multiHandLandmarks: r.landmarks,
      multiHandWorldLandmarks: r.worldLandmarks,
      // tasks-vision names the hand as seen; the legacy solution (and so the Python pipeline, whose
      // labels the graph was trained on) names it as in a mirror: the same model output, the other label.
      multiHandedness: r.handedness.map((h) => ({
        label: h[0].categoryName === "Left" ? "Right" : "Left", score: h[0].score,
      })),
    };
  };
  return { name: "cpu", detect: async (image) => detect(image), close: () => landmarker.close() };
}

async function loadWebgl() {
  await loadScript(`${BASE}mediapipe/hands.js`);
  const hands = new window.Hands({ locateFile: (file) => `${BASE}mediapipe/${file}` });
  hands.setOptions({
    maxNumHands: 1, modelComplexity: 1, minDetectionConfidence: 0.5, minTrackingConfidence: 0.5, selfieMode: false,
  });
  let results = null;
  hands.onResults((r) => { results = r; });
  await hands.initialize();
  return {
    name: "webgl",
    detect: async (image) => {
      results = null;
      await hands.send({ image });
      return results;
    },
    close: () => hands.close(),
  };
}

// One landmark path, loaded and warmed up on a blank frame (the first frame sets everything up:
// seconds on software WebGL, and better now, while the person gets ready, than on their first sign).
export async function loadLandmarks(path = chooseLandmarkPath()) {
  const stage = path === "webgl" ? await loadWebgl() : await loadCpu();
  await stage.detect(blankFrame());
  return stage;
}
