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
    const gl =
      document.createElement("canvas").getContext("webgl2") ||
      document.createElement("canvas").getContext("webgl");
    if (!gl) return "cpu";
    const info = gl.getExtension("WEBGL_debug_renderer_info");
    const renderer = String(
      info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER),
    );
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

// tasks-vision's result in @mediapipe/hands' shape. tasks-vision names the hand as seen; the legacy
// solution (and so the Python pipeline, whose labels the graph was trained on) names it as in a mirror:
// the same model output, the other label.
function legacyShape(r) {
  return {
    multiHandLandmarks: r.landmarks,
    multiHandWorldLandmarks: r.worldLandmarks,
    multiHandedness: r.handedness.map((h) => ({
      label: h[0].categoryName === "Left" ? "Right" : "Left",
      score: h[0].score,
    })),
  };
}

// As the Python video recogniser: one hand, the full models, tracking between frames, 0.5 thresholds.
async function loadCpu() {
  const { FilesetResolver, HandLandmarker } = await import(`${BASE}tasks/vision_bundle.mjs`);
  const fileset = await FilesetResolver.forVisionTasks(`${BASE}tasks`);
  const create = (runningMode) =>
    HandLandmarker.createFromOptions(fileset, {
      baseOptions: { modelAssetPath: `${BASE}tasks/hand_landmarker.task`, delegate: "CPU" },
      runningMode,
      numHands: 1,
      minHandDetectionConfidence: 0.5,
      minHandPresenceConfidence: 0.5,
      minTrackingConfidence: 0.5,
    });
  const landmarker = await create("VIDEO");
  let photos = null; // the photo reader's detector, made on the first search: most sessions never need it
  let last = 0; // VIDEO mode wants strictly increasing timestamps (ms)
  const detect = (image) => {
    last = Math.max(last + 1, Math.round(performance.now()));
    return legacyShape(landmarker.detectForVideo(image, last));
  };
  const prepare = async () => {
    if (photos) return;
    photos = await create("IMAGE");
    photos.detect(blankFrame()); // the first frame sets the graph up: not on the search's time
  };
  const look = async (view, image) => {
    await prepare();
    return view === "padded" ? inCanvas(photos, image) : legacyShape(photos.detect(image));
  };
  return {
    name: "cpu",
    detect: async (image) => detect(image),
    prepare,
    look,
    close: () => {
      landmarker.close();
      if (photos) photos.close();
    },
  };
}

// The Python photo search's views that this build's models can look in (pipeline/reading.py): the frame
// afresh, then the frame shrunk into a padded canvas (a hand that fills the frame is too big for the palm
// detector). Its lite and turned views need models the browser build does not carry.
const VIEWS = ["photo", "padded"];
const PAD = 0.5; // reading.py's PAD: a border of half the frame's longer side on every side
let canvas = null;

// reading.py's _in_canvas (upright): the hand found in the padded canvas, in the frame's coordinates.
function inCanvas(photos, image) {
  const width = image.videoWidth || image.width,
    height = image.videoHeight || image.height;
  const side = Math.round(Math.max(width, height) * (1 + 2 * PAD));
  const scale = Math.min(1, 640 / side); // the detector sees 192 px: a bigger canvas costs time only
  const size = Math.max(1, Math.round(side * scale));
  canvas = canvas || document.createElement("canvas");
  canvas.width = canvas.height = size;
  const context = canvas.getContext("2d");
  context.fillStyle = "black";
  context.fillRect(0, 0, size, size);
  const [w, h] = [width * scale, height * scale];
  const [x0, y0] = [(size - w) / 2, (size - h) / 2];
  context.drawImage(image, x0, y0, w, h);
  const found = legacyShape(photos.detect(canvas));
  found.multiHandLandmarks = found.multiHandLandmarks.map((marks) =>
    marks.map((p) => ({
      x: (p.x * size - x0) / w,
      y: (p.y * size - y0) / h,
      z: (p.z * size) / w,
    })),
  );
  return found;
}

// pipeline/frame_search.py's FrameSearch: where the tracker finds no hand, the frame searched as a photo
// is, at most once each `every` seconds and for at most `seconds`; the view that found the hand is tried
// first in the frames after it. `stage.look` missing (the WebGL path): no search.
export function frameSearch(stage, { every, seconds }) {
  let view = null,
    next = -Infinity;
  const shows = (r) => r && r.multiHandLandmarks && r.multiHandLandmarks.length > 0;
  return async (image, time) => {
    if (!stage.look) return null;
    if (view) {
      const found = await stage.look(view, image);
      if (shows(found)) return found;
      view = null;
    }
    if (time < next) return null;
    next = time + every;
    await stage.prepare(); // its load (once) is not the search's time
    const deadline = performance.now() + 1000 * seconds;
    for (const [i, candidate] of VIEWS.entries()) {
      if (i > 0 && performance.now() > deadline) break;
      const found = await stage.look(candidate, image);
      if (shows(found)) {
        view = candidate;
        return found;
      }
    }
    return null;
  };
}

async function loadWebgl() {
  await loadScript(`${BASE}mediapipe/hands.js`);
  const hands = new window.Hands({ locateFile: (file) => `${BASE}mediapipe/${file}` });
  hands.setOptions({
    maxNumHands: 1,
    modelComplexity: 1,
    minDetectionConfidence: 0.5,
    minTrackingConfidence: 0.5,
    selfieMode: false,
  });
  let results = null;
  hands.onResults((r) => {
    results = r;
  });
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
