"""Q&A and forum pages: every post body is extracted with its math, nothing around the posts is."""

from datatrove.data import Document
from trafilatura.utils import load_html

from proofpile.extract import html_math
from proofpile.extract.html_math import MathHtmlExtractor, extract_math_text
from proofpile.extract.qa_posts import post_bodies
from tests.qa_pages import discourse_page, phpbb_page, stackexchange_page


def in_order(text: str, *parts: str) -> bool:
    at = [text.find(p) for p in parts]
    return all(i >= 0 for i in at) and at == sorted(at)


def test_stackexchange_question_and_every_answer_with_their_math():
    r = extract_math_text(stackexchange_page(), "https://math.stackexchange.com/questions/4101")
    assert (r.extraction, r.qa_posts) == ("qa_posts", 3)
    question = "has a finite value, while the harmonic series $\\sum_k 1/k$ grows without bound."
    accepted = "$$\\frac{1}{k^2} \\le \\frac{1}{k-1} - \\frac{1}{k}.$$"
    second = "the function $f(x) = x^{-2}$ is positive and decreasing on $[1, \\infty)$"  # <script type="math/tex">
    assert in_order(r.text, question, accepted, second)
    for formula in (
        "$\\sum_{k=1}^{\\infty} k^{-2}$",
        "$k^2 \\ge k(k-1)$",
        "$$S_m \\le 1 + \\left(1 - \\frac{1}{m}\\right) < 2.$$",
        "$$\\int_1^{\\infty} \\frac{dx}{x^2} = \\Big[-\\frac{1}{x}\\Big]_1^{\\infty} = 1.$$",
        "at most $1$ and the whole sum is below $2$",
    ):
        assert formula in r.text, formula
    assert "An increasing sequence bounded above converges" in r.text  # the accepted answer's prose
    assert "for k in range(1, 10001):\n    total += 1 / k**2" in r.text  # code keeps its indentation
    # counted by reading the page: question 3 inline; accepted 3 inline + 2 display; second 4 inline + 1
    # display. The two comments' formulas are not among them.
    assert (r.n_inline, r.n_display) == (10, 3)
    assert r.math_sources == {"math_container": 9, "mathjax_display": 1, "mathjax_inline": 2, "script_math_tex": 1}
    # comments, votes, user cards, tags, sidebars, header and footer are gone; posts are blank-line separated
    assert "NOISE" not in r.text and "Hot Network" not in r.text and "PPMATH" not in r.text
    assert "bound to use.\n\nCompare each term" in r.text
    assert "size.\n\nIf integrals are allowed" in r.text


def test_discourse_topic_keeps_every_reply():
    r = extract_math_text(discourse_page())
    assert (r.extraction, r.qa_posts) == ("qa_posts", 3)
    assert in_order(
        r.text,
        "Is $G$ always abelian?",
        "$$G/Z \\text{ cyclic} \\implies G \\text{ abelian} \\implies Z = G,$$",
        "a contradiction. So $Z = G$.",
        "isomorphic to $\\mathbb{Z}/p^2$ or to $\\mathbb{Z}/p \\times \\mathbb{Z}/p$",
    )
    assert (r.n_inline, r.n_display) == (14, 1)
    assert "NOISE" not in r.text


def test_phpbb_topic_keeps_posts_and_drops_profiles_and_signatures():
    r = extract_math_text(phpbb_page())
    assert (r.extraction, r.qa_posts) == ("qa_posts", 2)
    assert in_order(
        r.text,
        "Must $\\sum a_n b_n$ converge?",
        "$$\\sum_{n=1}^{N} a_n b_n = a_N B_N + \\sum_{n=1}^{N-1} (a_n - a_{n+1}) B_n,$$",
        "take $a_n = (-1)^n/n$,\n$b_n = (-1)^n$ for a counterexample.",
    )
    assert (r.n_inline, r.n_display) == (7, 1)
    assert "NOISE" not in r.text and "signature" not in r.text


def test_older_stackexchange_markup_and_schema_org_microdata():
    old = "".join(
        f'<div class="{kind}"><table><tr><td class="votecell">NOISE 4</td><td class="{cell}">'
        f'<div class="post-text"><p>{text}</p></div><div class="comments">NOISE c</div></td></tr></table></div>'
        for kind, cell, text in [
            ("question", "postcell", "Is $\\sqrt{2}$ rational?"),
            ("answer accepted-answer", "answercell", "No: write $\\sqrt{2} = a/b$ in lowest terms."),
        ]
    )
    r = extract_math_text(f"<html><body><div id='mainbar'>{old}</div></body></html>")
    assert (r.extraction, r.qa_posts) == ("qa_posts", 2)
    assert "Is $\\sqrt{2}$ rational?\n\nNo: write $\\sqrt{2} = a/b$ in lowest terms." == r.text

    # any Q&A site with schema.org microdata; a Comment item inside an answer is a comment, not a post
    def item(kind, text, comment=""):
        return (
            f'<div itemscope itemtype="https://schema.org/{kind}"><span itemprop="upvoteCount">NOISE 2</span>'
            f'<div itemprop="text"><p>{text}</p></div>{comment}</div>'
        )

    comment = '<div itemscope itemtype="https://schema.org/Comment"><p itemprop="text">NOISE comment</p></div>'
    page = item("Question", "How many primes are there? I know $2, 3, 5$.", comment) + item(
        "Answer", "Infinitely many: if $p_1, \\dots, p_n$ were all, $p_1 \\cdots p_n + 1$ has a new factor.", comment
    )
    r = extract_math_text(f"<html><body><main>{page}</main><aside>NOISE sidebar</aside></body></html>")
    assert (r.extraction, r.qa_posts) == ("qa_posts", 2)
    assert "$p_1 \\cdots p_n + 1$" in r.text and "NOISE" not in r.text


def test_discourse_crawler_view_by_microdata():
    def post(n, kind, text):
        return (
            f'<div id="post_{n}" itemscope itemtype="http://schema.org/{kind}" class="topic-body crawler-post">'
            f'<div class="crawler-post-meta"><span class="creator" itemprop="author" itemscope '
            f'itemtype="http://schema.org/Person"><span itemprop="name">NOISE user{n}</span></span>'
            f'<time itemprop="datePublished" datetime="2023-01-0{n}">NOISE Jan {n}</time></div>'
            f'<div class="post" itemprop="text"><p>{text}</p></div>'
            f'<span class="post-likes">NOISE {n} Likes</span></div>'
        )

    body = (
        post(1, "DiscussionForumPosting", "Why is $e^{i\\pi} = -1$?")
        + post(2, "Comment", "Put $\\theta = \\pi$ in $e^{i\\theta} = \\cos\\theta + i \\sin\\theta$.")
        + post(3, "Comment", "Thank you, that settles it.")
    )
    r = extract_math_text(f"<html><body><div id='main-outlet'>{body}</div><footer>NOISE</footer></body></html>")
    assert (r.extraction, r.qa_posts) == ("qa_posts", 3)
    assert in_order(r.text, "Why is $e^{i\\pi} = -1$?", "Put $\\theta = \\pi$ in", "Thank you")
    assert "NOISE" not in r.text


def near_miss_article() -> str:
    """A blog article with every near miss: comments as schema.org Comment items, a related-posts widget using
    ``post-text`` outside any post cell, one ``js-post-body``, and the word cooked in prose."""
    comments = "".join(
        f'<li id="comment-{i}" class="comment" itemscope itemtype="https://schema.org/Comment">'
        f'<span itemprop="author">Reader {i}</span><div itemprop="text"><p>Comment {i}: nice proof of $a_{i}$.</p>'
        "</div></li>"
        for i in range(3)
    )
    related = "".join(
        f'<div class="related-post"><div class="post-text">Related post {i} about sums.</div></div>' for i in range(3)
    )
    return f"""<html><head><title>Telescoping sums</title>
<script>MathJax = {{tex: {{inlineMath: [['$', '$']]}}}};</script></head><body>
<article itemscope itemtype="https://schema.org/BlogPosting"><h1 itemprop="headline">Telescoping sums</h1>
<div class="entry-content" itemprop="articleBody">
<p>A telescoping sum collapses: $\\sum_{{k=1}}^n (b_k - b_{{k-1}}) = b_n - b_0$, which is why the bound in
yesterday's post worked. I wrote this while the rice cooked, so forgive the brevity.</p>
<div class="s-prose js-post-body"><p>A quoted snippet from a Q&amp;A site: $x^2 \\ge 0$.</p></div>
<p>Applied to $b_k = -1/k$ it gives $\\sum_{{k=2}}^n \\frac{{1}}{{k(k-1)}} = 1 - \\frac{{1}}{{n}}$.</p>
</div></article>
<section id="comments"><h2>3 comments</h2><ol class="comment-list">{comments}</ol></section>
<aside class="widget related-posts">{related}</aside></body></html>"""


def test_ordinary_pages_are_extracted_exactly_as_before(monkeypatch):
    html = near_miss_article()
    assert post_bodies(load_html(html)) == []  # the XPath alone, without the raw-text shortcut
    now = extract_math_text(html)
    assert now.extraction is None and now.qa_posts == 0
    assert "telescoping sum collapses" in now.text
    monkeypatch.setattr(html_math, "post_bodies", lambda tree, html=None: [])  # the extractor without Q&A
    assert extract_math_text(html) == now

    # a question nobody has answered yet is one post: an ordinary page
    one_post = stackexchange_page().replace('<div class="s-prose js-post-body" itemprop="text">', "<div>", 3)
    one_post = one_post.replace("<div>", '<div class="s-prose js-post-body" itemprop="text">', 1)
    assert len(load_html(one_post).xpath("//div[@itemprop='text']")) == 1
    assert extract_math_text(one_post).extraction is None


def test_detection_never_triggers_on_the_shared_pages(shared_data):
    pages = sorted((shared_data / "html/math").glob("*.html")) + sorted((shared_data / "html/nonmath").glob("*.html"))
    assert len(pages) >= 60
    parsed = 0
    for p in pages:
        html = p.read_bytes().decode("utf-8", errors="replace")
        tree = load_html(html)
        if tree is None:
            continue
        parsed += 1
        assert post_bodies(tree) == [], p.name  # the XPath alone, without the raw-text shortcut
    assert parsed >= 60


def test_step_records_how_the_text_was_extracted():
    docs = [
        Document(text=stackexchange_page(), id="qa", metadata={"url": "https://math.stackexchange.com/q/4101"}),
        Document(text=near_miss_article(), id="blog", metadata={"url": "https://blog.example.org/telescoping"}),
    ]
    step = MathHtmlExtractor()
    out = {d.id: d for d in step.run(iter(docs))}
    assert out["qa"].metadata["extraction"] == "qa_posts" and out["qa"].metadata["qa_posts"] == 3
    assert out["qa"].metadata["n_display"] == 3 and "Compare each term" in out["qa"].text
    assert "extraction" not in out["blog"].metadata and "qa_posts" not in out["blog"].metadata
    assert step.stats["extracted_qa_posts"].total == 1 and step.stats["forwarded"].total == 2
