"""Per-stage and whole-chain throughput of the OpenWebMath filter chain on the real pages.

    python bench/open_web_math_chain.py [--data ../shared/data] [--mb 200]

The pages of html/math and html/nonmath are repeated to at least --mb MB of raw HTML. Each stage is timed on
its own input (prefilter on raw HTML, language ID / classifier / quality on the extracted text of every page),
then the whole chain runs as datatrove steps (prefilter -> extraction -> language ID -> math classifier ->
quality). MB/s is always raw-HTML MB per second, so the rows add up; "kept" is what each stage passes.
Extraction runs in-process here (the step's per-page sandbox is measured in the chain row, wall time).
Plain trafilatura is the peer for the extraction row, as in bench/open_web_math.py.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from datatrove.data import Document


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--mb", type=float, default=200.0)
    args = ap.parse_args()
    lid = args.data / "models" / "lid.176.ftz"
    if not lid.is_file():
        print(f"skipped: {lid} not found (pass --data)")
        return

    import trafilatura

    from proofpile.extract.html_math import MathHtmlExtractor, extract_math_text
    from proofpile.filters.langid import LanguageIdentifier, LanguageIdFilter, prose_for_lid
    from proofpile.filters.math_classifier import MathClassifier, MathScoreFilter
    from proofpile.filters.math_prefilter import MathPrefilter, prefilter_branch
    from proofpile.filters.quality import QualityFilter, accented_ratio

    pages = []
    for kind in ("math", "nonmath"):
        for p in sorted((args.data / "html" / kind).glob("*.html")):
            pages.append((f"https://{kind}.example/{p.stem}", p.read_text(encoding="utf-8", errors="replace")))
    one = sum(len(h.encode()) for _, h in pages)
    reps = max(1, int(args.mb * 1e6 // one) + 1)
    corpus = pages * reps
    mb = one * reps / 1e6
    print(f"{len(pages)} pages ({one / 1e6:.1f} MB) x {reps} = {len(corpus)} pages, {mb:.0f} MB raw HTML", file=sys.stderr)

    rows = []

    def timed(name: str, fn, items) -> list:
        t = time.process_time()
        out = [fn(x) for x in items]
        dt = time.process_time() - t
        rows.append((name, len(items), dt, sum(1 for o in out if o)))
        return out

    timed("prefilter (raw HTML)", lambda p: prefilter_branch(p[1]) is not None, corpus)
    extracted = timed("extraction (proofpile)", lambda p: extract_math_text(p[1], url=p[0]), corpus)
    timed("extraction (plain trafilatura, peer)", lambda p: trafilatura.extract(p[1]), corpus)
    texts = [e.text for e in extracted]
    ident = LanguageIdentifier(str(lid))
    timed("language id", lambda t: ident.predict(prose_for_lid(t))[0] == "en", texts)
    clf = MathClassifier()
    timed("math classifier", lambda t: clf.score(t) >= 0.17, texts)
    timed("quality", lambda t: len(t) >= 100 and accented_ratio(t) <= 0.015, texts)

    steps = [MathPrefilter(), MathHtmlExtractor(), LanguageIdFilter(model=str(lid), languages=[]),
             MathScoreFilter(), QualityFilter()]
    docs = [Document(text=h, id=f"{i}", metadata={"url": u}) for i, (u, h) in enumerate(corpus)]
    t = time.perf_counter()
    data = iter(docs)
    for step in steps:
        data = step.run(data)
    kept_docs = list(data)
    rows.append(("whole chain, datatrove steps (wall s)", len(docs), time.perf_counter() - t, len(kept_docs)))
    # what `proofpile plan` needs: text bytes kept per byte of raw HTML read
    kept_bytes = sum(len(d.text.encode()) for d in kept_docs)

    head = f"{'stage':<40}{'pages':>8}{'seconds':>10}{'pages/s':>10}{'MB/s':>8}{'kept':>8}"
    print(head)
    print("-" * len(head))
    for name, n, dt, k in rows:
        print(f"{name:<40}{n:>8}{dt:>10.1f}{n / dt:>10.1f}{mb / dt:>8.2f}{k:>8}")
    print(f"kept text: {kept_bytes / 1e6:.2f} MB = {kept_bytes / (mb * 1e6):.2%} of the raw HTML")


if __name__ == "__main__":
    main()
