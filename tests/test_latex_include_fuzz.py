"""Property-based fuzzing of LaTeX include graphs: random projects whose files `\\input`/`\\include` each other
(cycles, self-includes, missing files, fan-out) always flatten within the inlining budget, into bounded text
with capped metadata lists, and keep every reachable file's text when the budget allows it."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proofpile.extract.latex import CleanOptions, clean_project
from proofpile.extract.latex_flatten import META_LIST_CAP, Project, flatten

MAIN = "main.tex"


@st.composite
def projects(draw):
    """(files, edges): file i is `f{i}.tex`, -1 is main; an edge target of None is a missing file."""
    n = draw(st.integers(1, 7))
    nodes = list(range(-1, n))
    target = st.one_of(st.sampled_from(nodes), st.none())
    edges = {i: draw(st.lists(st.tuples(st.sampled_from(["input", "include"]), target), max_size=6)) for i in nodes}
    missing_many = draw(st.integers(0, 2 * META_LIST_CAP))  # distinct missing names in main, past the list cap
    padding = draw(st.integers(0, 300))
    files = {}
    for i in nodes:
        name = MAIN if i < 0 else f"f{i}.tex"
        body = [f"Marker{i + 1}x words. " + "pad " * padding]
        for k, (cmd, t) in enumerate(edges[i]):
            ref = f"absent{i}_{k}" if t is None else ("main" if t < 0 else f"f{t}")
            body.append(f"\\{cmd}{{{ref}}}")
        if i < 0:
            body += [f"\\input{{gone{m}}}" for m in range(missing_many)]
            files[name] = "\\documentclass{article}\n\\begin{document}\n" + "\n".join(body) + "\n\\end{document}\n"
        else:
            files[name] = "\n".join(body) + "\n"
    return files, edges


def reachable(edges) -> set[int]:
    seen, todo = {-1}, [-1]
    while todo:
        for _, t in edges[todo.pop()]:
            if t is not None and t not in seen:
                seen.add(t)
                todo.append(t)
    return seen


FUZZ = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(projects(), st.integers(1, 200_000), st.integers(1, 400))
def test_flattening_stays_within_the_budget(project, max_bytes, max_inlines):
    files, edges = project
    flat = flatten(Project(dict(files)), MAIN, max_inline_bytes=max_bytes, max_inlines=max_inlines)
    assert flat.inlined.total <= max_inlines
    # the main file, then at most the budget of inlined characters, each inline wrapped in two newlines
    assert len(flat.text) <= len(files[MAIN]) + max_bytes + 2 * max_inlines
    for names in (flat.inlined, flat.missing, flat.cycles):
        assert len(names.items) <= META_LIST_CAP and len(set(names.items)) == len(names.items)
        assert names.total >= len(names.items)
    if not flat.truncated:  # the budget allowed everything: every file the main file reaches is in the text
        for i in reachable(edges):
            assert f"Marker{i + 1}x" in flat.text
    elif edges[-1] and edges[-1][0][1] is not None and edges[-1][0][1] >= 0:
        first = f"f{edges[-1][0][1]}.tex"  # the main file's first include is inlined whenever it fits
        if len(files[first]) <= max_bytes:
            assert f"Marker{edges[-1][0][1] + 1}x" in flat.text


@FUZZ
@given(projects())
def test_cleaning_keeps_metadata_small_whatever_the_graph(project):
    files, _ = project
    cleaned = clean_project(files, CleanOptions(expand_macros=False))  # the default budget
    assert len(json.dumps(cleaned.meta)) < 40 * META_LIST_CAP + 2_000
    for key in ("files_inlined", "files_missing", "include_cycles"):
        assert len(cleaned.meta.get(key, [])) <= META_LIST_CAP
    assert "Marker0x" in cleaned.text  # the main file's own text is always kept
