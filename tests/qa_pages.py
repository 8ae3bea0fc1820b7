"""Q&A and forum pages shaped like the real ones, written for the tests.

The markup (element nesting, class names, microdata) follows what StackExchange, Discourse and phpBB (prosilver)
put around posts, because that structure is what the extractor recognises. All text and math are our own.
Every piece of text that must *not* survive extraction (comments, user cards, votes, sidebars, signatures,
footers) carries the word ``NOISE`` so the tests can check for it in one assertion.
"""

_SE_HEAD = """<head>
<meta charset="utf-8">
<title>Why is the sum of inverse squares finite? - Mathematics Stack Exchange</title>
<meta property="og:type" content="website">
<link rel="stylesheet" type="text/css" href="https://cdn.sstatic.net/Sites/math/primary.css">
<script type="text/x-mathjax-config">
MathJax.Hub.Config({"HTML-CSS": {preferredFont: "TeX"}, SVG: {linebreaks: {automatic: true}},
  tex2jax: {inlineMath: [["$", "$"], ["\\\\(", "\\\\)"]], displayMath: [["$$", "$$"], ["\\\\[", "\\\\]"]],
            processEscapes: true, ignoreClass: "tex2jax_ignore|dno"},
  TeX: {extensions: ["cancel.js", "bbox.js"]}, messageStyle: "none"});
</script>
<script src="https://cdn.sstatic.net/Js/third-party/mathjax/MathJax-2.7.9/MathJax.js?config=TeX-AMS_HTML-full"></script>
</head>"""


def _se_votes(post_id: int, score: int, accepted: bool = False) -> str:
    tick = (
        '<div class="js-accepted-answer-indicator flex--item fc-green-400 py6 mtn8" role="note" '
        'aria-label="Accepted"><div class="ta-center"><svg aria-hidden="true" class="svg-icon iconCheckmarkLg" '
        'width="36" height="36" viewBox="0 0 36 36"><path d="m6 14 8 8L30 6v8L14 30l-8-8v-8Z"></path></svg>'
        "</div></div>"
        if accepted
        else ""
    )
    return f"""<div class="votecell post-layout--left">
<div class="js-voting-container d-flex jc-center fd-column ai-stretch gs4 fc-black-300" data-post-id="{post_id}">
<button class="js-vote-up-btn flex--item s-btn s-btn__unset c-pointer" aria-pressed="false" aria-label="Up vote"
 data-selected-classes="fc-theme-primary">NOISE up vote</button>
<div class="js-vote-count flex--item d-flex fd-column ai-center fc-theme-body-font fw-bold fs-subheading py4"
 itemprop="upvoteCount" data-value="{score}">{score} NOISE votes</div>
<button class="js-vote-down-btn flex--item s-btn s-btn__unset c-pointer" aria-pressed="false"
 aria-label="Down vote">NOISE down vote</button>
{tick}</div></div>"""


def _se_user(verb: str, name: str, user_id: int, rep: str) -> str:
    return f"""<div class="post-signature owner flex--item">
<div class="user-info user-hover">
<div class="user-action-time">{verb} <span title="2021-03-04 10:11:12Z" class="relativetime">Mar 4, 2021 at
 10:11</span></div>
<div class="user-gravatar32"><a href="/users/{user_id}/{name}"><div class="gravatar-wrapper-32">
<img src="https://i.sstatic.net/avatar{user_id}.png" alt="{name}'s user avatar" width="32" height="32" class="bar-sm">
</div></a></div>
<div class="user-details" itemprop="author" itemscope itemtype="http://schema.org/Person">
<a href="/users/{user_id}/{name}">NOISE {name}</a><span class="d-none" itemprop="name">{name}</span>
<div class="-flair"><span class="reputation-score" title="reputation score" dir="ltr">{rep}</span>
<span title="3 silver badges"><span class="badge2"></span><span class="badgecount">3</span></span></div>
</div></div></div>"""


def _se_comments(post_id: int, comments: list[str]) -> str:
    items = "\n".join(
        f"""<li id="comment-{post_id}{i}" class="comment js-comment" data-comment-id="{post_id}{i}"
 data-comment-score="2">
<div class="js-comment-actions comment-actions"><div class="comment-score js-comment-score">
<span title="number of 'useful comment' votes received" class="cool">2</span></div></div>
<div class="comment-text js-comment-text-and-form"><div class="comment-body js-comment-edit-hide">
<span class="comment-copy">{text}</span>
<div class="d-inline-flex ai-center">&ndash;&nbsp;<a href="/users/77/dora" class="comment-user">dora</a></div>
<span class="comment-date" dir="ltr"><a class="comment-link" href="#comment{post_id}{i}_{post_id}">
<span title="2021-03-04 12:00:00Z" class="relativetime-clean">Mar 4, 2021 at 12:00</span></a></span>
</div></div></li>"""
        for i, text in enumerate(comments)
    )
    return f"""<span class="d-none" itemprop="commentCount">{len(comments)}</span>
<div class="post-layout--right js-post-comments-component">
<div id="comments-{post_id}" class="comments js-comments-container bt bc-black-075 mt12" data-post-id="{post_id}">
<ul class="comments-list js-comments-list" data-remaining-comments-count="0" data-canpost="false">
{items}
</ul></div>
<div id="comments-link-{post_id}"><a class="js-add-link comments-link disabled-link" href="#" role="button"
 title="Use comments to ask for more information or suggest improvements.">NOISE Add a comment</a></div>
</div>"""


def _se_post(kind: str, post_id: int, body: str, score: int, user: tuple, comments: list[str], accepted=False):
    cell = "postcell" if kind == "question" else "answercell"
    verb = "asked" if kind == "question" else "answered"
    return f"""<div class="post-layout">
{_se_votes(post_id, score, accepted)}
<div class="{cell} post-layout--right">
<div class="s-prose js-post-body" itemprop="text">
{body}
</div>
<div class="mt24 mb12"><div class="post-taglist d-flex gs4 gsy fd-column"><div class="d-flex ps-relative fw-wrap">
<ul class="ml0 list-ls-none js-post-tag-list-wrapper d-inline">
<li class="d-inline mr4 js-post-tag-list-item"><a href="/questions/tagged/sequences-and-series" class="post-tag"
 rel="tag">NOISE sequences-and-series</a></li></ul></div></div></div>
<div class="mb0"><div class="mt16 d-flex gs8 gsy fw-wrap jc-end ai-start pt4 mb16">
<div class="flex--item mr16 fl1 w96"><div class="js-post-menu pt2" data-post-id="{post_id}">
<div class="d-flex gs8 s-anchors s-anchors__muted fw-wrap"><div class="flex--item">
<a href="/q/{post_id}" rel="nofollow" class="js-share-link js-gps-track">NOISE Share</a></div>
<div class="flex--item"><button type="button" class="s-btn s-btn__link js-follow-post">NOISE Follow</button></div>
</div></div></div>
{_se_user(verb, *user)}
</div></div>
</div>
{_se_comments(post_id, comments)}
</div>"""


SE_QUESTION = """<p>I keep reading that the series <span class="math-container">$\\sum_{k=1}^{\\infty} k^{-2}$</span>
has a finite value, while the harmonic series <span class="math-container">$\\sum_k 1/k$</span> grows without
bound. Both terms go to zero, so what makes the squares different? I would like an argument that uses
nothing beyond comparison of series.</p>
<p>My attempt: the partial sums <span class="math-container">$S_m$</span> increase, so it suffices to bound
them, but I do not see which bound to use.</p>"""

SE_ACCEPTED = """<p>Compare each term with a telescoping one. For <span class="math-container">$k \\ge 2$</span>
we have <span class="math-container">$k^2 \\ge k(k-1)$</span>, hence</p>
<p><span class="math-container">$$\\frac{1}{k^2} \\le \\frac{1}{k-1} - \\frac{1}{k}.$$</span></p>
<p>Adding these inequalities for <span class="math-container">$k = 2, \\dots, m$</span>, the right-hand side
collapses and</p>
<p><span class="math-container">$$S_m \\le 1 + \\left(1 - \\frac{1}{m}\\right) < 2.$$</span></p>
<p>An increasing sequence bounded above converges, which is all you need. The same trick fails for the
harmonic series because there is no telescoping bound of the right size.</p>"""

SE_SECOND = """<p>If integrals are allowed, the integral test gives it at once: the function
<script type="math/tex">f(x) = x^{-2}</script> is positive and decreasing on
<span class="math-container">$[1, \\infty)$</span>, and</p>
<p>$$\\int_1^{\\infty} \\frac{dx}{x^2} = \\Big[-\\frac{1}{x}\\Big]_1^{\\infty} = 1.$$</p>
<p>So the tail after the first term is at most $1$ and the whole sum is below $2$, matching the other answer.
Here is the same bound computed numerically:</p>
<pre class="lang-py s-code-block"><code>total = 0.0
for k in range(1, 10001):
    total += 1 / k**2    # stays below 2
</code></pre>"""

SE_COMMENTS = [
    "NOISE comment: have you tried grouping terms in blocks of length $2^j$?",
    "NOISE comment: this is the Basel problem, the exact value is known.",
]


def stackexchange_page() -> str:
    question = _se_post("question", 4101, SE_QUESTION, 17, ("ada", 11, "1,204"), SE_COMMENTS)
    accepted = _se_post("answer", 4102, SE_ACCEPTED, 25, ("ben", 12, "8,311"), ["NOISE comment: neat telescoping."],
                        accepted=True)
    second = _se_post("answer", 4103, SE_SECOND, 9, ("cy", 13, "502"), ["NOISE comment: $p$-series test too."])
    sidebar = """<div id="sidebar" class="show-votes" role="complementary" aria-label="sidebar">
<div class="s-sidebarwidget s-sidebarwidget__yellow s-anchors s-anchors__grayscale mb16" data-tracker="cb=1">
<ul class="d-block p0 m0">
<div class="s-sidebarwidget--header s-sidebarwidget__small-bold-text">NOISE The Overflow Blog</div>
<li class="s-sidebarwidget--item d-flex px16"><div class="flex--item1 fl-shrink0"><svg aria-hidden="true"
 class="va-text-top svg-icon iconPencilSm" width="14" height="14" viewBox="0 0 14 14"></svg></div>
<div class="flex--item wmn0 ow-break-word"><a href="https://stackoverflow.blog/x" class="js-gps-track">NOISE blog
 post about databases</a></div></li></ul></div>
<div class="module sidebar-linked"><h4 id="h-linked">NOISE Linked</h4><div class="linked" data-tracker="lq=1">
<div class="spacer js-gps-track"><a href="/q/11" title="Vote score"><div class="answer-votes answered-accepted default">
41</div></a><a href="/questions/11/series" class="question-hyperlink">NOISE linked question on the Basel problem</a>
</div></div></div>
<div class="module sidebar-related"><h4 id="h-related">NOISE Related</h4><div class="related js-gps-related-questions"
 data-tracker="rq=1"><div class="spacer"><a href="/q/12"><div class="answer-votes default">3</div></a>
<a href="/questions/12/p-series" class="question-hyperlink">NOISE related question on p-series</a></div>
<div class="spacer"><a href="/q/13"><div class="answer-votes default">5</div></a>
<a href="/questions/13/harmonic" class="question-hyperlink">NOISE related question on harmonic numbers</a></div>
</div></div>
<div id="hot-network-questions" class="module tex2jax_ignore"><h4><a href="https://stackexchange.com/questions?tab=hot"
 class="js-gps-track s-link s-link__inherit">NOISE Hot Network Questions</a></h4><ul>
<li><div class="favicon favicon-physics" title="Physics Stack Exchange"></div>
<a href="https://physics.stackexchange.com/q/9"
 class="js-gps-track question-hyperlink mb0">NOISE hot question about pendulums</a></li></ul></div>
</div>"""
    return f"""<!DOCTYPE html>
<html itemscope itemtype="https://schema.org/QAPage" class="html__responsive" lang="en">
{_SE_HEAD}
<body class="question-page unified-theme">
<header class="s-topbar ps-fixed t0 l0 js-top-bar"><div class="s-topbar--container">
<a href="https://math.stackexchange.com" class="s-topbar--logo"><span class="-img _glyph">NOISE Mathematics</span></a>
<ol class="s-topbar--content" role="menubar"><li><a href="/users/login" class="s-topbar--item s-btn s-btn__filled"
 rel="nofollow">NOISE Log in</a></li></ol></div></header>
<div class="container">
<div id="left-sidebar" data-is-here-when="md lg" class="left-sidebar js-pinned-left-sidebar ps-relative">
<nav role="navigation"><ol class="nav-links"><li>
<a href="/" class="pl8 js-gps-track nav-links--link">NOISE Home</a></li>
<li><a id="nav-questions" href="/questions" class="js-gps-track nav-links--link">NOISE Questions</a></li>
<li><a id="nav-tags" href="/tags" class="js-gps-track nav-links--link">NOISE Tags</a></li></ol></nav></div>
<div id="content" class="snippet-hidden">
<div itemprop="mainEntity" itemscope itemtype="https://schema.org/Question">
<link itemprop="image" href="https://cdn.sstatic.net/Sites/math/Img/apple-touch-icon.png">
<div class="inner-content clearfix">
<div id="question-header" class="d-flex sm:fd-column">
<h1 itemprop="name" class="fs-headline1 ow-break-word mb8 flex--item fl1">
<a href="/questions/4101/sum-of-inverse-squares"
 class="question-hyperlink">Why is the sum of inverse squares finite?</a></h1>
<div class="ml12 aside-cta flex--item sm:ml0 sm:mb12 sm:order-first sm:as-end">
<a class="ws-nowrap s-btn s-btn__primary" href="/questions/ask">NOISE Ask Question</a></div></div>
<div class="d-flex fw-wrap pb8 mb16 bb bc-black-075">
<div class="flex--item ws-nowrap mr16 mb8" title="2021-03-04 10:11:12Z">
<span class="fc-black-400 mr2">NOISE Asked</span>
<time itemprop="dateCreated" datetime="2021-03-04T10:11:12">3 years ago</time></div>
<div class="flex--item ws-nowrap mb8" title="Viewed 2,345 times"><span class="fc-black-400 mr2">NOISE Viewed</span>
2k times</div></div>
<div id="mainbar" role="main" aria-label="question and answers">
<div class="question js-question" data-questionid="4101" data-position-on-page="0" data-score="17" id="question">
{question}
</div>
<div id="answers">
<a name="tab-top"></a>
<div id="answers-header"><div class="answers-subheader d-flex ai-center mb8"><div class="flex--item fl1">
<h2 class="mb0" data-answercount="2">NOISE 2 Answers <span style="display:none;" itemprop="answerCount">2</span></h2>
</div></div></div>
<a name="4102"></a>
<div id="answer-4102" class="answer js-answer accepted-answer js-accepted-answer" data-answerid="4102"
 data-parentid="4101" data-score="25" data-position-on-page="1" itemprop="acceptedAnswer" itemscope
 itemtype="https://schema.org/Answer">
{accepted}
</div>
<a name="4103"></a>
<div id="answer-4103" class="answer js-answer" data-answerid="4103" data-parentid="4101" data-score="9"
 data-position-on-page="2" itemprop="suggestedAnswer" itemscope itemtype="https://schema.org/Answer">
{second}
</div>
<h2 class="bottom-notice" data-loc="1">NOISE Not the answer you're looking for? Browse other questions tagged
<a href="/questions/tagged/sequences-and-series" class="post-tag" rel="tag">sequences-and-series</a>.</h2>
</div>
</div>
{sidebar}
</div></div></div></div>
<footer id="footer" class="site-footer js-footer" role="contentinfo"><div class="site-footer--container">
<nav class="site-footer--nav"><div class="site-footer--col"><h5 class="-title">NOISE Mathematics</h5>
<ul class="-list"><li class="-item"><a href="/tour" class="js-gps-track -link">NOISE Tour</a></li>
<li class="-item"><a href="/help" class="js-gps-track -link">NOISE Help</a></li></ul></div></nav>
<div class="site-footer--copyright fs-fine md:mt24">NOISE Site design / logo 2024 Stack Exchange Inc;
user contributions licensed under CC BY-SA.</div></div></footer>
</body>
</html>"""


# ---------------------------------------------------------------------------------------------------------------
# Discourse: the topic page as the Ember app renders it (each post an <article> with the cooked HTML in
# div.cooked); math typed with \( \) and \[ \] for a MathJax theme component.

DISCOURSE_POSTS = [
    """<p>Let \\(G\\) be a finite group of order \\(p^2\\) for a prime \\(p\\). Is \\(G\\) always abelian?
I can show the centre is non-trivial, but I am stuck after that.</p>""",
    """<p>Yes. The centre \\(Z\\) has order \\(p\\) or \\(p^2\\). If it had order \\(p\\), the quotient
\\(G/Z\\) would have order \\(p\\), so it would be cyclic, and</p>
<p>\\[ G/Z \\text{ cyclic} \\implies G \\text{ abelian} \\implies Z = G, \\]</p>
<p>a contradiction. So \\(Z = G\\).</p>""",
    """<p>Adding to the above: such a group is isomorphic to \\(\\mathbb{Z}/p^2\\) or to
\\(\\mathbb{Z}/p \\times \\mathbb{Z}/p\\), depending on whether it has an element of order \\(p^2\\).</p>""",
]


def _discourse_post(n: int, cooked: str, user: str) -> str:
    return f"""<div class="topic-post clearfix regular" data-post-number="{n}">
<article id="post_{n}" aria-label="post #{n} by @{user}" role="region" data-post-id="{900 + n}"
 data-topic-id="321" data-user-id="{40 + n}" class="boxed onscreen-post">
<div class="row">
<div class="topic-avatar"><div class="post-avatar"><a class="trigger-user-card main-avatar" href="/u/{user}"
 data-user-card="{user}"><img alt="" width="45" height="45" src="/user_avatar/{user}/45.png" class="avatar"
 title="NOISE {user}"></a></div></div>
<div class="topic-body clearfix">
<div role="heading" aria-level="2" class="topic-meta-data"><div class="names trigger-user-card">
<span class="first username"><a href="/u/{user}" data-user-card="{user}">NOISE {user}</a></span>
<span class="user-title">NOISE Regular</span></div>
<div class="post-infos"><div class="post-info post-date"><a class="post-date" href="/t/group-order/321/{n}">
<span class="relative-date" data-time="1674000000000" data-format="tiny">NOISE Jan 18</span></a></div></div></div>
<div class="regular contents">
<div class="cooked">
{cooked}
</div>
<section class="post-menu-area clearfix"><nav class="post-controls"><div class="actions">
<div class="double-button"><button class="btn-flat button-count like-count" aria-label="3 people liked this post">
NOISE 3</button><button class="widget-button btn-flat toggle-like like no-text btn-icon" title="like this post">
</button></div><button class="widget-button btn-flat reply create fade-out btn-icon-text" aria-label="Reply"
title="begin composing a reply to this post"><span class="d-button-label">NOISE Reply</span></button>
</div></nav></section>
</div></div></div></article></div>"""


def discourse_page() -> str:
    users = ["eve", "finn", "gus"]
    posts = "\n".join(_discourse_post(i + 1, c, u) for i, (c, u) in enumerate(zip(DISCOURSE_POSTS, users, strict=True)))
    return f"""<!DOCTYPE html>
<html lang="en" class="desktop-view not-mobile-device text-size-normal anon">
<head><meta charset="utf-8"><title>Groups of order p squared - Algebra - Example Math Forum</title>
<meta name="generator" content="Discourse 3.1.0 - https://github.com/discourse/discourse version 3.1.0">
<script>window.MathJax = {{tex: {{inlineMath: [["\\\\(", "\\\\)"]], displayMath: [["\\\\[", "\\\\]"]]}}}};</script>
</head>
<body class="crawler">
<section id="main">
<div class="d-header-wrap"><header class="d-header clearfix"><div class="wrap"><div class="contents clearfix">
<div class="title"><a href="/">
<img id="site-logo" class="logo-big" src="/logo.png" alt="NOISE Example Math Forum"></a></div>
<div class="panel clearfix" role="navigation"><span class="header-buttons"><button class="btn btn-primary btn-small
 login-button btn-icon-text" type="button"><span class="d-button-label">NOISE Log In</span></button></span></div>
</div></div></header></div>
<div id="main-outlet" class="wrap" role="main">
<div id="topic-title"><div class="container"><h1 data-topic-id="321"><a href="/t/group-order/321"
 class="fancy-title">Groups of order p squared</a></h1>
<div class="topic-category"><a class="badge-wrapper bullet" href="/c/algebra/5">NOISE Algebra</a></div></div></div>
<div class="container posts">
<div class="row"><section class="topic-area" id="topic" data-topic-id="321"><div class="posts-wrapper">
{posts}
</div></section>
<div class="topic-map"><section class="map map-collapsed"><ul class="clearfix"><li>
<h4 role="presentation">NOISE created</h4>
<a href="/t/group-order/321/1"><span class="relative-date">NOISE Jan 18</span></a></li><li>
<span class="number">NOISE 2</span>
<h4 role="presentation">replies</h4></li></ul></section></div>
</div>
<div id="suggested-topics" class="suggested-topics" role="complementary"><h3 class="suggested-topics-title">
NOISE Suggested Topics</h3><table class="topic-list"><tbody><tr class="topic-list-item"><td class="main-link">
<a href="/t/sylow/400" class="title raw-link raw-topic-link">NOISE Sylow theorems for beginners</a></td></tr>
</tbody></table></div>
</div></div>
<footer class="container wrap"><nav class="crawler-nav"><ul><li><a href="/">NOISE Home</a></li>
<li><a href="/categories">NOISE Categories</a></li><li><a href="/guidelines">NOISE FAQ/Guidelines</a></li>
</ul></nav><p class="powered-by-link">NOISE Powered by Discourse</p></footer>
</section>
</body>
</html>"""


# ---------------------------------------------------------------------------------------------------------------
# phpBB 3 (prosilver): each post a div.post with the poster's profile in dl.postprofile and the message in
# div.postbody > div > div.content, followed by a signature; [tex] rendered as MathJax \( \) / $$ $$.

PHPBB_POSTS = [
    """Suppose \\(a_n \\to 0\\) and the partial sums of \\(b_n\\) are bounded. Must \\(\\sum a_n b_n\\) converge?<br>
I tried the ratio test without success.""",
    """Not without monotonicity. If \\(a_n\\) decreases to zero it does converge (Dirichlet's test), using
summation by parts:<br>
$$\\sum_{n=1}^{N} a_n b_n = a_N B_N + \\sum_{n=1}^{N-1} (a_n - a_{n+1}) B_n,$$<br>
where \\(B_n\\) are the partial sums. Drop the monotonicity and take \\(a_n = (-1)^n/n\\),
\\(b_n = (-1)^n\\) for a counterexample.""",
]


def _phpbb_post(n: int, text: str, user: str) -> str:
    return f"""<div id="p{7000 + n}" class="post has-profile bg{2 - n % 2}">
<div class="inner">
<dl class="postprofile" id="profile{7000 + n}">
<dt class="has-profile-rank no-avatar"><div class="avatar-container"></div>
<a href="./memberlist.php?mode=viewprofile&amp;u={60 + n}" class="username">NOISE {user}</a></dt>
<dd class="profile-rank">NOISE Senior member</dd>
<dd class="profile-posts">
<strong>NOISE Posts:</strong> <a href="./search.php?author_id={60 + n}&amp;sr=posts">215</a></dd>
<dd class="profile-joined"><strong>NOISE Joined:</strong> Sat Feb 06, 2016 4:12 pm</dd>
</dl>
<div class="postbody">
<div id="post_content{7000 + n}">
<h3 class="first"><a href="#p{7000 + n}">Re: Products of null sequences with bounded sums</a></h3>
<ul class="post-buttons"><li><a href="./posting.php?mode=quote&amp;p={7000 + n}" title="Reply with quote"
 class="button button-icon-only"><i class="icon fa-quote-left fa-fw" aria-hidden="true"></i>
<span>NOISE Quote</span></a></li></ul>
<p class="author"><a class="unread" href="./viewtopic.php?p={7000 + n}#p{7000 + n}" title="Post">
<i class="icon fa-file fa-fw icon-lightgray icon-md" aria-hidden="true"></i><span class="sr-only">Post</span></a>
<span class="responsive-hide">NOISE by <strong><a href="./memberlist.php?mode=viewprofile&amp;u={60 + n}"
 class="username">{user}</a></strong> &raquo; </span>
<time datetime="2023-02-0{n}T09:15:00+00:00">NOISE Thu Feb 0{n}, 2023</time></p>
<div class="content">{text}</div>
<div id="sig{7000 + n}" class="signature">NOISE signature: the limit of my patience is epsilon.</div>
</div></div>
<div class="back2top"><a href="#top" class="top" title="Top"><i class="icon fa-chevron-circle-up fa-fw icon-gray"
 aria-hidden="true"></i><span class="sr-only">Top</span></a></div>
</div></div>
<hr class="divider">"""


def phpbb_page() -> str:
    users = ["hal", "ivy"]
    posts = "\n".join(_phpbb_post(i + 1, t, u) for i, (t, u) in enumerate(zip(PHPBB_POSTS, users, strict=True)))
    return f"""<!DOCTYPE html>
<html dir="ltr" lang="en-gb">
<head><meta charset="utf-8"><title>Products of null sequences with bounded sums - Analysis - Example Board</title>
<script type="text/x-mathjax-config">MathJax.Hub.Config({{tex2jax: {{inlineMath: [["\\\\(","\\\\)"]],
displayMath: [["$$","$$"], ["\\\\[","\\\\]"]]}}}});</script>
<link href="./styles/prosilver/theme/stylesheet.css" rel="stylesheet"></head>
<body id="phpbb" class="nojs notouch section-viewtopic ltr">
<div id="wrap" class="wrap">
<div id="page-header"><div class="headerbar" role="banner"><div class="inner">
<div id="site-description" class="site-description">
<a id="logo" class="logo" href="./index.php" title="Board index"><span class="site_logo"></span></a>
<h1>NOISE Example Board</h1><p>NOISE A place to talk about analysis</p></div></div></div>
<div class="navbar" role="navigation"><div class="inner"><ul id="nav-main" class="nav-main linklist" role="menubar">
<li class="rightside"><a href="./ucp.php?mode=login" title="Login">NOISE Login</a></li></ul></div></div></div>
<div id="page-body" class="page-body" role="main">
<h2 class="topic-title"><a href="./viewtopic.php?t=55">Products of null sequences with bounded sums</a></h2>
<div class="action-bar bar-top"><a href="./posting.php?mode=reply&amp;t=55" class="button" title="Post a reply">
<span>NOISE Post Reply</span></a>
<div class="pagination">NOISE 2 posts &bull; Page <strong>1</strong> of <strong>1</strong></div></div>
{posts}
<div class="action-bar bar-bottom"><div class="pagination">NOISE 2 posts</div></div>
<div class="stat-block online-list"><h3>NOISE Who is online</h3>
<p>NOISE Users browsing this forum: no registered users</p></div>
</div>
<div id="page-footer" class="page-footer" role="contentinfo">
<div class="copyright">NOISE Powered by phpBB Limited</div></div>
</div>
</body>
</html>"""
