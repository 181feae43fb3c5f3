// Feeds frame sequences through the browser's speller (src/signlens/serve/static/speller.mjs), each frame's
// letter given by the on-device answer (answer.mjs) at the session's threshold, to a sure hand.
// Usage: node speller_parity.mjs IN.json -> JSON on stdout. IN: {min_hand_score, sessions: [{settings, motion_seconds,
// repeat, classes, frames: [[hand_present, probabilities, seconds, points?] | ["configure", {...}] | ["reset"], ...]}]}
// (points: the hand's 21 [x, y, z] in pixels; a still hand where absent).
// Out: per session, per frame [smoothed, written, text] (configure/reset frames give [text]).
import { readFileSync } from "node:fs";
import { answerHand } from "../../src/signlens/serve/static/answer.mjs";
import { LiveSpeller } from "../../src/signlens/serve/static/speller.mjs";

const STILL = Array.from({ length: 21 }, () => [0, 0, 0]);
const input = JSON.parse(readFileSync(process.argv[2], "utf8"));
const rule = { min_hand_score: input.min_hand_score }; // each hand scored 1: sure
const out = input.sessions.map(({ settings, motion_seconds: motionSeconds, repeat, classes, frames }) => {
  const live = new LiveSpeller(settings, motionSeconds, repeat);
  return frames.map((frame) => {
    if (frame[0] === "configure") {
      live.configure(frame[1]);
      return [live.text];
    }
    if (frame[0] === "reset") {
      live.reset();
      return [live.text];
    }
    const [hand, probabilities, now, points] = frame;
    const label = hand ? answerHand(probabilities, 1, classes, rule, live.settings.threshold).label : null;
    const { smoothed, written, text } = live.step(label, hand ? (points ?? STILL) : null, now);
    return [smoothed, written, text];
  });
});
process.stdout.write(JSON.stringify(out));
