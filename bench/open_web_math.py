"""Speed and formula recall of the math-preserving HTML extraction against its peers, in one run.

    python bench/open_web_math.py [--data ../shared/data] [--mb 200] [--before main]

Peers: plain ``trafilatura.extract`` (what the extraction is built on) and, when it is installed, the
OpenWebMath extractor (``pip install openwebmath-text-extract 'resiliparse<2'``, package ``text_extract``;
its randomised config is fixed to each option's most likely value). ``--before REF`` adds this extractor as
it is at git revision REF (e.g. ``main``), loaded beside the working tree's, so a change shows its before/after
in one run. ``proofpile[rp]`` is the same formula pass with resiliparse's main-content selection
(``engine="resiliparse"``); its text is compared with the default's, word by word over all pages: the share of
the default's words it keeps, and the share of its own words the default does not have (mostly navigation).
Every extractor gets the same pages (``html/math`` + ``html/nonmath``) repeated to at least
``--mb`` MB, on one core, in this process; the repetitions go round the extractors in turn, so a busy machine
slows them alike.

Formulas are counted in each extractor's *output* with one counter for all (``$...$`` by Pandoc's rule, no
space inside the dollars, so shell prompts in code are not formulas; ``\\(...\\)`` inline;
``$$...$$``, ``\\[...\\]``, bare equation environments display), against the counts stated per page in
tests/test_html_math.py; "right kind" counts only formulas that came out with the page's own
inline/display type.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# (inline, display) per page, counted by reading the sources: see tests/test_html_math.py
EXPECTED = {
    "page_equation-refs.html": (1, 10),
    "page_mml-chtml.html": (5, 8),
    "page_tex-chtml.html": (5, 8),
    "page_tex-mml.html": (2, 1),
    "v2-support_v2-compatibility.html": (3, 0),
    "v2-support_v2-script-tags.html": (1, 1),
    "wikipedia-hermitian-matrix.html": (116, 2),
    "wikipedia-tsne.html": (34, 0),
}

_FORMULA = re.compile(
    r"(?<!\\)\$\$(?P<d1>.+?)(?<!\\)\$\$"
    r"|(?<![\\$])\$(?P<i1>[^$\s][^$\n]{0,1000}?)(?<![\\\s])\$(?!\d)"
    r"|\\\[(?P<d2>.+?)\\\]"
    r"|\\\((?P<i2>.+?)\\\)"
    r"|\\begin\{(?P<env>[a-z]+\*?)\}.+?\\end\{(?P=env)\}",
    re.S,
)


def count_formulas(text: str) -> tuple[int, int]:
    inline = display = 0
    for m in _FORMULA.finditer(text or ""):
        if m.group("i1") is not None or m.group("i2") is not None:
            inline += 1
        else:
            display += 1
    return inline, display


_WORD = re.compile(r"\w+")


def word_overlap(reference: list[str], other: list[str]) -> tuple[float, float]:
    """Share of ``reference``'s words (counted with multiplicity, page by page) that ``other`` has, and share
    of ``other``'s words that ``reference`` lacks."""
    shared = ref_total = other_total = 0
    for a, b in zip(reference, other):
        wa, wb = Counter(_WORD.findall(a)), Counter(_WORD.findall(b))
        shared += sum((wa & wb).values())
        ref_total += sum(wa.values())
        other_total += sum(wb.values())
    return shared / max(ref_total, 1), (other_total - shared) / max(other_total, 1)


def load_pages(data: Path) -> list[tuple[str, str, bool]]:
    pages = []
    for kind in ("math", "nonmath"):
        for p in sorted((data / "html" / kind).glob("*.html")):
            pages.append((p.name, p.read_bytes().decode("utf-8", errors="replace"), kind == "math"))
    return pages


def _guarded(extract, error):
    def run(html: str) -> str:
        try:
            return extract(html).text
        except error:
            return ""

    return run


def extractor_at(ref: str, workdir: Path):
    """``extract_math_text`` as it is at git revision ``ref``: its ``proofpile`` package is unpacked into
    ``workdir`` and imported under the same name, then the working tree's modules are put back (the old
    functions keep the old modules through their globals)."""
    tar = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "proofpile"], capture_output=True)
    if tar.returncode:
        sys.exit(f"--before {ref}: git archive failed: {tar.stderr.decode(errors='replace').strip()}")
    subprocess.run(["tar", "-x", "-C", str(workdir)], input=tar.stdout, check=True)
    mine = {k: v for k, v in sys.modules.items() if k == "proofpile" or k.startswith("proofpile.")}
    for k in mine:
        del sys.modules[k]
    sys.path.insert(0, str(workdir))
    try:
        old = importlib.import_module("proofpile.extract.html_math")
    finally:
        sys.path.remove(str(workdir))
        for k in [k for k in sys.modules if k == "proofpile" or k.startswith("proofpile.")]:
            del sys.modules[k]
        sys.modules.update(mine)
    return _guarded(old.extract_math_text, old.ExtractionError)


def extractors(before: str | None = None, workdir: Path | None = None) -> dict[str, object]:
    import trafilatura

    from proofpile.extract.html_math import ExtractionError, extract_math_text

    out = {
        "proofpile": _guarded(extract_math_text, ExtractionError),
        "proofpile[rp]": _guarded(lambda html: extract_math_text(html, engine="resiliparse"), ExtractionError),
    }
    if before:
        out[f"@{before}"[:14]] = extractor_at(before, workdir)
    out["trafilatura"] = lambda html: trafilatura.extract(html) or ""
    try:
        from text_extract.extract import extract_text
        from text_extract.utils import Config

        config = _most_likely(Config().config)

        def owm(html: str) -> str:
            try:
                result = extract_text(html, config)
            except Exception:  # it raises on some pages; count those as empty, as a pipeline would
                return ""
            return result[0] if result else ""

        out["openwebmath"] = owm
    except ImportError as e:
        print(f"note: openwebmath-text-extract not installed ({e}); its column is skipped", file=sys.stderr)
    return out


def _most_likely(config):
    if isinstance(config, dict):
        return {k: _most_likely(v) for k, v in config.items()}
    if isinstance(config, list) and config and all(isinstance(x, list) and len(x) == 2 for x in config):
        return max(config, key=lambda pv: pv[0])[1]
    return config


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("PROOFPILE_TEST_DATA", "../shared/data")))
    ap.add_argument("--mb", type=float, default=200.0, help="repeat the pages to at least this many MB")
    ap.add_argument("--before", metavar="REF", help="also run the extractor as it is at this git revision")
    args = ap.parse_args()
    pages = load_pages(args.data)
    if not pages:
        sys.exit(f"no pages under {args.data}/html: pass --data")
    size = sum(len(h.encode()) for _, h, _ in pages)
    reps = max(1, int(-(-args.mb * 1e6 // size)))
    with tempfile.TemporaryDirectory() as workdir:
        run(pages, size, reps, extractors(args.before, Path(workdir)))


def run(pages, size: int, reps: int, fns: dict[str, object]) -> None:
    for fn in fns.values():  # imports and first-call setup are not what we measure
        fn(pages[0][1])

    recall: dict[str, dict[str, tuple[int, int]]] = {}
    invented: dict[str, int] = {}
    texts: dict[str, list[str]] = {}
    for name, fn in fns.items():
        recall[name] = {}
        invented[name] = 0
        texts[name] = []
        for page, html, is_math in pages:
            texts[name].append(fn(html))
            got = count_formulas(texts[name][-1])
            if is_math:
                recall[name][page] = got
            else:
                invented[name] += sum(got)

    speed = dict.fromkeys(fns, 0.0)
    for _ in range(reps):
        for name, fn in fns.items():
            start = time.process_time()
            for _, html, _ in pages:
                fn(html)
            speed[name] += time.process_time() - start

    n_pages, mb = reps * len(pages), reps * size / 1e6
    print(f"{len(pages)} pages ({size / 1e6:.1f} MB) x {reps} = {n_pages} pages, {mb:.0f} MB; CPU seconds, one core")
    print()
    exp_total = sum(i + d for i, d in EXPECTED.values())
    head = f"{'extractor':<14}{'pages/s':>10}{'MB/s':>8}{'formulas':>10}{'right kind':>12}{'of':>6}{'nonmath $':>11}"
    print(head)
    print("-" * len(head))
    for name in fns:
        found = sum(i + d for i, d in recall[name].values())
        right = sum(min(i, EXPECTED[p][0]) + min(d, EXPECTED[p][1]) for p, (i, d) in recall[name].items())
        print(
            f"{name:<14}{n_pages / speed[name]:>10.1f}{mb / speed[name]:>8.2f}{found:>10}{right:>12}{exp_total:>6}"
            f"{invented[name]:>11}"
        )
    print()
    rate = {name: n_pages / speed[name] for name in fns}
    for peer in [n for n in fns if n.startswith("@")] + ["openwebmath"]:
        for ours in ("proofpile", "proofpile[rp]"):
            if peer in rate and ours in rate:
                print(f"{ours} pages/s / {peer}: {rate[ours] / rate[peer]:.2f}x")
    if "proofpile[rp]" in texts:
        kept, extra = word_overlap(texts["proofpile"], texts["proofpile[rp]"])
        print(f"proofpile[rp] text against proofpile's: keeps {kept:.1%} of its words; {extra:.1%} of its own words "
              "are not in it")
    print()
    print("formulas per math page, inline/display (expected first)")
    cols = "".join(f"{n:>14}" for n in fns)
    print(f"{'page':<36}{'expected':>10}{cols}")
    for page, (ei, ed) in EXPECTED.items():
        row = "".join(f"{'%d/%d' % recall[n].get(page, (0, 0)):>14}" for n in fns)
        print(f"{page:<36}{'%d/%d' % (ei, ed):>10}{row}")
    print("\n'nonmath $' = $-delimited spans in the output of the 60 non-math pages (dollar amounts read as math)")


if __name__ == "__main__":
    main()
