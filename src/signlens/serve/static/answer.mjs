// The answer rule in the on-device mode. The rule is pipeline/answer.py's `answer`; its parameters reach
// the page only as data, session.json's answer_rule, which the build writes from the AnswerRule a video
// Recognizer of the same model answers by. The graph has already calibrated the probabilities by the
// rule's temperature (the build checks them against `answer`), so what is left here is the rule's last
// step: a letter where the calibrated confidence reaches the threshold and MediaPipe is sure enough of
// the hand. Like the Python recogniser on video, the page reads each frame once (a second, mirrored
// reading would reset the tracker) and has no pixel member, so it answers as
// `answer(first, None, None, hand_scores, rule)` does. tests/test_ondevice_answer.py checks this file
// against `answer` on the same logits.

const NUMBERS = ["temperature", "second_below", "threshold", "min_hand_score"];

// session.json's answer_rule, checked: every parameter there, and the temperature the one the graph
// calibrates by (its report's), so a graph and a rule from different builds are refused.
export function answerRule(rule, graphTemperature) {
  for (const key of NUMBERS) {
    if (typeof rule?.[key] !== "number")
      throw new Error(`the on-device rule has no ${key}: run make install`);
  }
  if (rule.temperature !== graphTemperature) {
    throw new Error("the on-device graph and its answer rule come from different builds: run make install");
  }
  return { ...rule };
}

// One hand's answer: the best class and its calibrated confidence, and the letter where the rule gives
// one (`threshold`: the page's setting, the rule's own by default).
export function answerHand(probabilities, handScore, classNames, rule, threshold = rule.threshold) {
  let best = 0;
  for (let i = 1; i < probabilities.length; i++) if (probabilities[i] > probabilities[best]) best = i;
  const confidence = probabilities[best];
  const given = confidence >= threshold && handScore >= rule.min_hand_score;
  return { best: classNames[best], confidence, label: given ? classNames[best] : null };
}
