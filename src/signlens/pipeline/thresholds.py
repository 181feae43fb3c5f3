"""Default confidence thresholds, chosen on out-of-fold predictions for unseen signers (leave-one-
signer-out on the ayuraj photos, calibrated probabilities; docs/benchmarks.md has the table).

A single photo answers once, so its threshold keeps a letter whenever it is more likely right than
wrong (0.5: 97% of photos answered, 93% of those right). Live video votes over frames and writes
letters into text, where a wrong letter costs more than a late one, so it keeps the seed's 0.7
(90% of photos answered, 96% of those right).
"""

PHOTO_THRESHOLD = 0.5
LIVE_THRESHOLD = 0.7
