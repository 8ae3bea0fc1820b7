"""`proofpile inspect`: a local, read-only web viewer of a build directory (its shards, dropped documents, score
histograms, decontamination hits and near-duplicate clusters), with math rendered server-side as MathML."""
