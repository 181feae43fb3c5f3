// The live speller in the browser: the same rules, in the same order, as the Python one
// (signlens.pipeline.smoothing: MajorityVote and Speller, driven frame by frame as pipeline/live.py
// and serve/stream.py do). tests/test_ondevice.py feeds one frame sequence through both and
// compares every frame's smoothed letter, written letter and text.

// The most frequent label over the last `window` frames, if it has at least `minShare` of the window.
// Frames with no hand or an unsure answer vote null. Ties go to the label seen first in the window,
// as Python's Counter.most_common(1) does.
export class MajorityVote {
  constructor(window, minShare) {
    this.window = window;
    this.minShare = minShare;
    this.votes = [];
  }

  update(label) {
    this.votes.push(label ?? null);
    if (this.votes.length > this.window) this.votes.shift();
    const counts = new Map();
    for (const vote of this.votes) counts.set(vote, (counts.get(vote) || 0) + 1);
    let winner = null, count = -1;
    for (const [vote, n] of counts) if (n > count) [winner, count] = [vote, n];
    if (winner === null || count < this.minShare * this.window) return null;
    return winner;
  }

  reset() { this.votes = []; }
}

// Commits a letter once held `hold` seconds; the same letter again only after the hand changed or
// left; a space once the hand has been gone `pause` seconds.
export class Speller {
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

// The best class and its probability; the label only when the probability reaches the threshold
// (Recognizer.classify_views).
export function decide(probabilities, classNames, threshold) {
  let best = 0;
  for (let i = 1; i < probabilities.length; i++) if (probabilities[i] > probabilities[best]) best = i;
  const confidence = probabilities[best];
  return { best: classNames[best], confidence, label: confidence >= threshold ? classNames[best] : null };
}

// One camera session: threshold, vote and speller, with pipeline/session.py's LiveSession semantics
// (new settings restart the vote and the timings but keep the text; reset clears everything). The
// settings come whole from that definition (session.json, written by the build): no defaults here.
export class LiveSpeller {
  constructor(settings) {
    for (const key of ["threshold", "hold", "pause", "window", "min_share"]) {
      if (typeof settings?.[key] !== "number") throw new Error(`LiveSpeller: setting ${key} missing`);
    }
    this.settings = { ...settings };
    this.reset();
  }

  reset() {
    const s = this.settings;
    this.vote = new MajorityVote(Math.trunc(s.window), s.min_share);
    this.speller = new Speller(s.hold, s.pause);
  }

  configure(values) {
    const text = this.speller.text;
    for (const [key, value] of Object.entries(values)) if (key !== "type") this.settings[key] = value;
    this.reset();
    this.speller.text = text;
  }

  get text() { return this.speller.text; }

  // label: the thresholded letter or null; handPresent: whether a hand was found; now: seconds.
  step(label, handPresent, now) {
    const smoothed = this.vote.update(label);
    if (!handPresent) this.vote.reset();
    const written = this.speller.update(smoothed, handPresent, now);
    return { smoothed, written, text: this.speller.text };
  }
}
