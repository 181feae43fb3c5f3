// J and Z, the two letters that move, from the fingertip's path: signlens.pipeline.motion in the
// browser, rule for rule and number for number (tests/test_ondevice_speller.py feeds both the same
// hands). J: the little finger out, its tip drawing a hook (down, then sideways); Z: the index finger
// out, its tip drawing a Z. Paths are measured in palm lengths (wrist to middle knuckle in the image).
// Points: 21 [x, y, ...] landmarks in pixels.

const WRIST = 0,
  MIDDLE_MCP = 9;
const TIPS = { index: 8, middle: 12, ring: 16, pinky: 20 };
const PIPS = { index: 6, middle: 10, ring: 14, pinky: 18 };

const distance = (a, b) => Math.sqrt((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2);
const spread = (values) => Math.max(...values) - Math.min(...values);
const argmax = (values) => values.reduce((best, v, i) => (v > values[best] ? i : best), 0);

// Which fingers are out: the tip farther from the wrist than its middle joint by a clear margin.
function stretched(points) {
  const palm = Math.max(distance(points[MIDDLE_MCP], points[WRIST]), 1e-6);
  const out = {};
  for (const [finger, tip] of Object.entries(TIPS)) {
    out[finger] =
      distance(points[tip], points[WRIST]) > distance(points[PIPS[finger]], points[WRIST]) + 0.25 * palm;
  }
  return out;
}

function handshape(points) {
  const out = stretched(points);
  if (out.pinky && !(out.index || out.middle || out.ring)) return "pinky";
  if (out.index && !(out.middle || out.ring || out.pinky)) return "index";
  return null;
}

// Ramer-Douglas-Peucker: the path's corners, dropping wiggles smaller than `tolerance`.
function simplify(path, tolerance) {
  if (path.length < 3) return path;
  const start = path[0],
    end = path[path.length - 1];
  const line = [end[0] - start[0], end[1] - start[1]];
  const norm = Math.sqrt(line[0] * line[0] + line[1] * line[1]);
  const distances = path.map((p) =>
    norm < 1e-9
      ? Math.sqrt((p[0] - start[0]) ** 2 + (p[1] - start[1]) ** 2)
      : Math.abs(line[0] * (p[1] - start[1]) - line[1] * (p[0] - start[0])) / norm,
  );
  const k = argmax(distances);
  if (distances[k] <= tolerance) return [start, end];
  return [...simplify(path.slice(0, k + 1), tolerance).slice(0, -1), ...simplify(path.slice(k), tolerance)];
}

function isZ(path) {
  const extent = [spread(path.map((p) => p[0])), spread(path.map((p) => p[1]))];
  if (extent[0] < 0.8 || extent[1] < 0.5) return false;
  const size = Math.max(...extent);
  const corners = simplify(path, 0.2 * size);
  const strokes = corners
    .slice(1)
    .map((p, i) => [p[0] - corners[i][0], p[1] - corners[i][1]])
    .filter((s) => Math.sqrt(s[0] * s[0] + s[1] * s[1]) > 0.25 * size);
  if (strokes.length !== 3) return false;
  const [first, middle, last] = strokes;
  const side = Math.sign(first[0]);
  const length = (s) => Math.sqrt(s[0] * s[0] + s[1] * s[1]);
  const across = (s) => side * s[0] > 0.6 * length(s) && Math.abs(s[1]) < 0.6 * Math.abs(s[0]);
  const backDown = side * middle[0] < 0 && middle[1] > 0.3 * length(middle);
  return across(first) && backDown && across(last) && middle[1] > 0.4 * extent[1];
}

function isJ(path) {
  const ys = path.map((p) => p[1]);
  const bottom = argmax(ys);
  const fall = ys[bottom] - Math.min(...ys.slice(0, bottom + 1));
  if (fall < 0.5 || bottom === path.length - 1) return false;
  const sideways = spread(path.slice(bottom).map((p) => p[0]));
  const straightDown = spread(path.slice(0, bottom + 1).map((p) => p[0])) < 0.8 * fall;
  return sideways > 0.35 * fall && straightDown && ys[ys.length - 1] <= ys[bottom];
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

// Feed every frame's hand; returns "J" or "Z" at the frame that completes one, else null.
export class MotionLetters {
  constructor(seconds, minFrames = 6) {
    this.seconds = seconds;
    this.minFrames = minFrames;
    this.track = [];
  }

  reset() {
    this.track = [];
  }

  update(points, now) {
    if (!points) {
      this.reset();
      return null;
    }
    const palm = Math.max(distance(points[MIDDLE_MCP], points[WRIST]), 1e-6);
    this.track.push({ now, shape: handshape(points), points: points.map((p) => [p[0], p[1]]), palm });
    while (this.track.length && now - this.track[0].now > this.seconds) this.track.shift();
    if (this.track.length < this.minFrames) return null;
    const scale = median(this.track.map((t) => t.palm));
    for (const [letter, shape, tip, test] of [
      ["J", "pinky", TIPS.pinky, isJ],
      ["Z", "index", TIPS.index, isZ],
    ]) {
      // The handshape must hold over most of the path (J's hand turns as it hooks: allow a third off).
      if (this.track.filter((t) => t.shape === shape).length < 0.66 * this.track.length) continue;
      const path = this.track.map((t) => [t.points[tip][0] / scale, t.points[tip][1] / scale]);
      if (test(path)) {
        this.reset();
        return letter;
      }
    }
    return null;
  }
}
