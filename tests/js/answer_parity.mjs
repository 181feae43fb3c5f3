// Gives the on-device answer (src/signlens/serve/static/answer.mjs) for rows of calibrated probabilities.
// Usage: node answer_parity.mjs IN.json -> JSON on stdout.
// IN: {rule: session.json's answer_rule, graph_temperature, classes, thresholds: [null | number, ...],
//      rows: [[probabilities, hand_score], ...]}
// Out: per threshold (null: the rule's own), per row the letter given or null.
import { readFileSync } from "node:fs";
import { answerHand, answerRule } from "../../src/signlens/serve/static/answer.mjs";

const input = JSON.parse(readFileSync(process.argv[2], "utf8"));
const rule = answerRule(input.rule, input.graph_temperature);
const out = input.thresholds.map((threshold) =>
  input.rows.map(
    ([probabilities, score]) =>
      answerHand(Float32Array.from(probabilities), score, input.classes, rule, threshold ?? undefined).label,
  ),
);
process.stdout.write(JSON.stringify(out));
