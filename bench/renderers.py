"""Formula recovery and speed on pages typeset by the real math renderers, per output mode and page layout.

    python bench/renderers.py [--data ../shared/data] [--display 42] [--inline 42]

The pages are tests/renderer_pages.py's: display equations and inline formulas of the papers in
``<data>/arxiv``, rendered by KaTeX, Temml and MathJax 3/4 (``npm ci`` in tests/renderers first; node must be
installed), placed in each layout sites use. For each (mode, layout): display and inline formulas recovered
(equal to the source up to equivalent spellings, proofpile.extract.tex_equivalence), lines of glyph soup
(one or two glyphs on a line: a rendering's boxes taken as text) and pages/s on one core (CPU time). The peer,
in the same run on the same pages, is plain ``trafilatura.extract``: what the extraction is built on.
``proofpile[rp]`` is the extraction with resiliparse's main-content selection (``engine="resiliparse"``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("PROOFPILE_TEST_DATA", ROOT.parent / "shared/data")))
    ap.add_argument("--display", type=int, default=42, help="display equations per page set")
    ap.add_argument("--inline", type=int, default=42, help="inline formulas per page set")
    args = ap.parse_args()

    import trafilatura

    from proofpile.extract.html_math import extract_math_text
    from proofpile.extract.tex_equivalence import recovered
    from tests.renderer_pages import build_pages, glyph_soup, rendered_formulas, renderers_missing

    why = renderers_missing()
    if why:
        sys.exit(f"cannot run: {why}")
    if not (args.data / "arxiv").is_dir():
        sys.exit(f"no papers under {args.data}/arxiv: pass --data")
    formulas, rendered = rendered_formulas(args.data / "arxiv", args.display, args.inline)
    n_display = sum(f.display for f in formulas)
    n_inline = len(formulas) - n_display
    pages = build_pages(formulas, rendered)
    extractors = {
        "proofpile": lambda html: extract_math_text(html).text,
        # the same formula pass with resiliparse's main-content selection (recipe: extract.engine)
        "proofpile[rp]": lambda html: extract_math_text(html, engine="resiliparse").text,
        "trafilatura": lambda html: trafilatura.extract(html, favor_recall=True, include_tables=True) or "",
    }
    for fn in extractors.values():  # imports and first-call setup are not what we measure
        fn(pages[0].html)

    rows: dict[tuple[str, str, str], list[float]] = defaultdict(lambda: [0, 0, 0, 0.0, 0])
    for name, fn in extractors.items():
        for page in pages:
            start = time.process_time()
            text = fn(page.html)
            spent = time.process_time() - start
            d, i = recovered([(f.tex, f.display) for f in page.formulas], text)
            r = rows[(name, page.mode, page.layout)]
            r[0] += d
            r[1] += i
            r[2] += glyph_soup(text)
            r[3] += spent
            r[4] += 1

    print(f"{len(pages)} pages; {n_display} display + {n_inline} inline formulas per mode and layout; one core")
    print()
    head = f"{'extractor':<14}{'mode':<15}{'layout':<8}{'display':>9}{'inline':>9}{'glyph soup':>12}{'pages/s':>9}"
    print(head)
    print("-" * len(head))
    for (name, mode, layout), (d, i, soup, spent, n) in sorted(rows.items()):
        print(f"{name:<14}{mode:<15}{layout:<8}{d:>5}/{n_display:<3}{i:>5}/{n_inline:<3}{soup:>12}{n / max(spent, 1e-9):>9.0f}")
    print()
    for name in extractors:
        mine = [v for k, v in rows.items() if k[0] == name]
        d, i, soup = sum(v[0] for v in mine), sum(v[1] for v in mine), sum(v[2] for v in mine)
        spent, n = sum(v[3] for v in mine), sum(v[4] for v in mine)
        print(
            f"{name}: display {d}/{n_display * len(mine)}, inline {i}/{n_inline * len(mine)}, "
            f"glyph soup {soup} lines, {n / spent:.0f} pages/s"
        )


if __name__ == "__main__":
    main()
