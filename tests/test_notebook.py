import json

import pytest
from datatrove.data import Document

from proofpile.extract import NotebookError, NotebookToMarkdown, notebook_to_markdown
from proofpile.filters import NotebookToMarkdown as ReExported
from proofpile.filters.code_rules import check


def nb4(cells, language=None, **metadata):
    if language:
        metadata["kernelspec"] = {"name": language, "language": language, "display_name": language}
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": metadata, "cells": cells})


def md(source):
    return {"cell_type": "markdown", "metadata": {}, "source": source}


def code(source, outputs=()):
    return {"cell_type": "code", "metadata": {}, "execution_count": 1, "source": source, "outputs": list(outputs)}


STREAM = {"output_type": "stream", "name": "stdout", "text": ["eigenvalues: [1. 3.]\n"]}
RESULT = {"output_type": "execute_result", "execution_count": 2, "metadata": {}, "data": {"text/plain": ["sqrt(2)/2"]}}
PNG = {
    "output_type": "display_data",
    "metadata": {},
    "data": {"image/png": "iVBORw0KGgoAAAANSUhEUgAAAAE=", "text/plain": ["<Figure size 640x480 with 1 Axes>"]},
}
SVG = {"output_type": "display_data", "metadata": {}, "data": {"image/svg+xml": ["<svg></svg>"]}}
ERROR = {
    "output_type": "error",
    "ename": "ZeroDivisionError",
    "evalue": "division by zero",
    "traceback": ["\u001b[0;31mZeroDivisionError\u001b[0m: division by zero"],
}


def test_markdown_and_code_cells_in_order():
    raw = nb4(
        [
            md(["# Rotation matrices\n", "A rotation by $\\theta$ has determinant $1$.\n"]),
            code(["import sympy as sp\n", "t = sp.symbols('t')\n", "sp.cos(t)"], [RESULT]),
        ]
    )
    out = notebook_to_markdown(raw)
    assert out.startswith("# Rotation matrices\nA rotation by $\\theta$ has determinant $1$.\n\n```python\n")
    assert "import sympy as sp\nt = sp.symbols('t')\nsp.cos(t)\n```" in out
    assert out.index("Rotation") < out.index("import sympy") < out.index("sqrt(2)/2")
    assert "```output\nsqrt(2)/2\n```" in out
    assert out.endswith("\n") and not out.endswith("\n\n")


def test_kernel_language_from_metadata():
    assert "```julia\nA = [1 2; 3 4]\n```" in notebook_to_markdown(nb4([code("A = [1 2; 3 4]")], language="julia"))
    info = nb4([code("x <- 1")], language_info={"name": "R"})
    assert "```r\nx <- 1\n```" in notebook_to_markdown(info)
    assert "```python\n" in notebook_to_markdown(nb4([code("x = 1")]))


def test_text_outputs_kept_images_and_errors_dropped():
    out = notebook_to_markdown(nb4([code("f()", [STREAM, PNG, SVG, ERROR, RESULT])]))
    assert "eigenvalues: [1. 3.]" in out
    assert "sqrt(2)/2" in out
    assert "Figure size" not in out  # the text/plain stand-in for an image goes with the image
    assert "iVBOR" not in out and "<svg" not in out
    assert "ZeroDivisionError" not in out
    assert out.count("```output") == 2


def test_media_tags_and_markdown_images_are_stripped():
    source = (
        "Intro ![phase portrait](plots/phase.png) end.\n"
        "![logo][ref]\n"
        '<IMG SRC="x.png" width=300>\n'
        "<video controls>\n  <source src='m.mp4'>\n</video>\n"
        "<script type='text/javascript'>\nvar x = 1;\n</script>\n"
        '<iframe src="https://example.org/embed"></iframe>\n'
        "The rest: $e^{i\\pi} + 1 = 0$."
    )
    out = notebook_to_markdown(nb4([md(source)]))
    assert out == "Intro  end.\nThe rest: $e^{i\\pi} + 1 = 0$.\n"


def test_fence_survives_backticks_in_code():
    out = notebook_to_markdown(nb4([code('print("```python")')]))
    assert out.startswith("````python\n") and out.rstrip().endswith("\n````")


def test_nbformat3_worksheets():
    raw = json.dumps(
        {
            "nbformat": 3,
            "metadata": {"name": "old"},
            "worksheets": [
                {
                    "cells": [
                        {"cell_type": "heading", "level": 2, "source": ["Legendre polynomials"]},
                        {
                            "cell_type": "code",
                            "language": "python",
                            "input": ["from scipy.special import legendre\n", "legendre(2)"],
                            "outputs": [
                                {"output_type": "pyout", "text": ["poly1d([ 1.5,  0. , -0.5])"]},
                                {"output_type": "display_data", "png": "iVBOR", "text": ["<matplotlib...>"]},
                                {"output_type": "pyerr", "ename": "E", "evalue": "x", "traceback": ["tb"]},
                            ],
                        },
                    ]
                }
            ],
        }
    )
    out = notebook_to_markdown(raw)
    assert out.startswith("## Legendre polynomials\n\n```python\nfrom scipy.special import legendre\n")
    assert "poly1d([ 1.5,  0. , -0.5])" in out
    assert "matplotlib" not in out and "tb" not in out


@pytest.mark.parametrize(
    "raw,message",
    [
        ('{"cells": [', "invalid JSON"),
        ("", "invalid JSON"),
        ("[1, 2]", "list"),
        ('{"metadata": {}}', "cells"),
    ],
)
def test_invalid_notebooks(raw, message):
    with pytest.raises(NotebookError, match=message) as info:
        notebook_to_markdown(raw)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)


def test_empty_notebook_gives_empty_text():
    assert notebook_to_markdown(nb4([])) == ""
    assert notebook_to_markdown(nb4([md("![only](an_image.png)\n")])) == ""


def test_step_converts_jupyter_and_drops_broken():
    good = nb4([md("We solve $x^2 = 2$."), code("from sympy import solve, symbols")])
    docs = [
        Document(text=good, id="nb1", metadata={"lang": "jupyter", "path": "notebooks/roots.ipynb"}),
        Document(text="{not json", id="nb2", metadata={"lang": "jupyter", "path": "broken.ipynb"}),
        Document(text='{"x": 1}', id="py1", metadata={"lang": "python", "path": "x.py"}),
    ]
    step = NotebookToMarkdown()
    out = list(step.run(iter(docs)))
    assert [d.id for d in out] == ["nb1", "py1"]
    assert out[0].text.startswith("We solve $x^2 = 2$.\n\n```python\nfrom sympy import")
    assert out[1].text == '{"x": 1}'
    assert step.stats["dropped_notebook_parse_error"].total == 1
    assert step.stats["converted"].total == 1
    # the Markdown is what the code rules expect for jupyter
    assert check("jupyter", out[0].text).keep
    assert ReExported is NotebookToMarkdown


def test_step_logs_the_path_of_a_broken_notebook():
    from datatrove.utils.logging import logger

    messages = []
    sink = logger.add(lambda m: messages.append(str(m)), level="WARNING")
    try:
        doc = Document(text="[]", id="abc", metadata={"lang": "jupyter", "path": "deep/dir/bad.ipynb"})
        assert list(NotebookToMarkdown().run(iter([doc]))) == []
    finally:
        logger.remove(sink)
    assert any("deep/dir/bad.ipynb" in m and "list" in m for m in messages)
