// The live speller in the browser: the same rules, in the same order, as the Python one
// (signlens.pipeline.smoothing and pipeline.session's LiveSession, which pipeline/live.py and
// serve/stream.py run), J and Z included. tests/test_ondevice_speller.py feeds the same frames through
// both and compares every frame's smoothed letter, written letter and text.
import { MotionLetters } from "./motion.mjs";

// The most frequent label over the frames of the last `windowSeconds` (the frame at hand and those less
// than `windowSeconds` older), if it has at least `minShare` of those frames. Frames with no hand or an
// unsure answer vote null. Ties go to the label seen first in the window, as Python's
// Counter.most_common(1) does.
class MajorityVote {
  constructor(windowSeconds, minShare) {
    this.windowSeconds = windowSeconds;
    this.minShare = minShare;
    this.votes = []; // [time, label], oldest first
  }

  update(label, now) {
    this.votes.push([now, label ?? null]);
    while (this.votes.length > 1 && now - this.votes[0][0] >= this.windowSeconds) this.votes.shift();
    const counts = new Map();
    for (const [, vote] of this.votes) counts.set(vote, (counts.get(vote) || 0) + 1);
    let winner = null,
      count = -1;
    for (const [vote, n] of counts) if (n > count) [winner, count] = [vote, n];
    if (winner === null || count < this.minShare * this.votes.length) return null;
    return winner;
  }

  reset() {
    this.votes = [];
  }
}

// Commits a letter once held `hold` seconds; the same letter again only after the hand changed or
// left; a space once the hand has been gone `pause` seconds.
class Speller {
  constructor(hold, pause) {
    this.hold = hold;
    this.pause = pause;
    this.text = "";
    this.candidate = null;
    this.since = 0.0;
    this.lastWritten = null;
    this.goneSince = null;
  }

  update(label, handPresent, now) {
    label = label ?? null;
    if (!handPresent) {
      if (this.goneSince === null) this.goneSince = now;
      this.candidate = null;
      this.lastWritten = null;
      if (now - this.goneSince >= this.pause && this.text && !this.text.endsWith(" ")) this.text += " ";
      return null;
    }
    this.goneSince = null;
    if (label !== this.lastWritten) this.lastWritten = null; // the handshape changed
    if (label !== this.candidate) {
      this.candidate = label;
      this.since = now;
      return null;
    }
    if (label === null || label === this.lastWritten || now - this.since < this.hold) return null;
    this.text += label;
    this.lastWritten = label;
    return label;
  }
}

// smoothing.py's hand_place: (centre x, centre y, size) of the landmarks' box, in pixels.
function handPlace(points) {
  const xs = points.map((p) => p[0]),
    ys = points.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  return [(x0 + x1) / 2, (y0 + y1) / 2, Math.max(x1 - x0, y1 - y0)];
}

// smoothing.py's farther: places `a` and `b` more than `limit` apart.
function farther(a, b, limit) {
  const [dx, dy] = [a[0] - b[0], a[1] - b[1]];
  return dx * dx + dy * dy > limit * limit;
}

// One frame at a time, from the recogniser's answer to text: the vote and the speller for the static
// letters, and J and Z from the fingertip's path (motion.mjs), as pipeline/smoothing.py's Spelling: a
// motion letter replaces a static letter written during its path (the I that J starts from), and the
// handshape held on afterwards is not written again until it changes, or until the hand slides to a new
// place and rests there (a double letter: smoothing.py's REPEAT_SHIFT).
class Spelling {
  constructor(windowSeconds, minShare, hold, pause, motionSeconds, repeat) {
    this.vote = new MajorityVote(windowSeconds, minShare);
    this.speller = new Speller(hold, pause);
    this.motion = new MotionLetters(motionSeconds);
    this.repeat = repeat; // {shift, steady}
    this.writtenAt = null;
    this.writtenPlace = null;
    this.rest = null;
  }

  get text() {
    return this.speller.text;
  }

  // label: the thresholded letter or null; points: the hand's 21 landmarks in pixels, or null (no hand).
  update(label, points, now) {
    const smoothed = this.vote.update(label, now);
    if (!points) this.vote.reset();
    let written = this.speller.update(smoothed, Boolean(points), now);
    const place = points ? handPlace(points) : null;
    if (written === null && smoothed !== null && smoothed === this.speller.lastWritten) {
      written = this.repeated(smoothed, place, now);
    } else {
      this.rest = null;
    }
    if (written !== null) [this.writtenAt, this.writtenPlace, this.rest] = [now, place, null];
    const moved = this.motion.update(points, now);
    if (moved === null) return { smoothed, written };
    const s = this.speller;
    if (this.writtenAt !== null && now - this.writtenAt <= this.motion.seconds && s.text) {
      s.text = s.text.slice(0, -1); // the static letter the path started from was the motion letter's start
    }
    s.text += moved;
    [s.lastWritten, s.candidate, s.since] = [smoothed, smoothed, now];
    [this.writtenAt, this.writtenPlace, this.rest] = [null, place, null];
    return { smoothed, written: moved };
  }

  // The letter just written, again, once the hand has slid away from where it wrote it and rested for
  // the hold time; else null.
  repeated(letter, place, now) {
    const written = this.writtenPlace;
    if (written === null || !farther(place, written, this.repeat.shift * written[2])) {
      this.rest = null;
      return null;
    }
    if (this.rest === null || farther(place, this.rest, this.repeat.steady * written[2])) {
      this.rest = [place[0], place[1], now]; // still moving: rest from here
      return null;
    }
    if (now - this.rest[2] < this.speller.hold) return null;
    this.speller.text += letter;
    return letter;
  }
}

// One camera session: threshold and spelling, with pipeline/session.py's LiveSession semantics (new
// settings restart the vote and the timings but keep the text; reset clears everything). The settings
// and the motion letters' time come from that definition (session.json, written by the build): no
// defaults here.
export class LiveSpeller {
  constructor(settings, motionSeconds, repeat) {
    for (const key of ["threshold", "hold", "pause", "window", "min_share"]) {
      if (typeof settings?.[key] !== "number") throw new Error(`LiveSpeller: setting ${key} missing`);
    }
    if (typeof motionSeconds !== "number") throw new Error("LiveSpeller: motion_seconds missing");
    if (typeof repeat?.shift !== "number" || typeof repeat?.steady !== "number") {
      throw new Error("LiveSpeller: repeat missing");
    }
    this.repeat = { ...repeat };
    this.settings = { ...settings };
    this.motionSeconds = motionSeconds;
    this.reset();
  }

  reset() {
    const s = this.settings;
    this.spelling = new Spelling(s.window, s.min_share, s.hold, s.pause, this.motionSeconds, this.repeat);
  }

  configure(values) {
    const text = this.spelling.text;
    for (const [key, value] of Object.entries(values)) if (key !== "type") this.settings[key] = value;
    this.reset();
    this.spelling.speller.text = text;
  }

  get text() {
    return this.spelling.text;
  }

  // label: the thresholded letter or null; points: the hand's landmarks in pixels, or null; now: seconds.
  step(label, points, now) {
    const { smoothed, written } = this.spelling.update(label, points, now);
    return { smoothed, written, text: this.spelling.text };
  }
}
