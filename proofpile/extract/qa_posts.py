"""Post bodies of Q&A and forum pages, found by the markup the forum software puts around every post.

trafilatura chooses one main-content block per page. On a StackExchange or MathOverflow question that block is
the question: every answer — usually the best mathematics on the page — is thrown away with the comments, user
cards and sidebars around it. Forum software, though, marks each post body the same way on every page, so on
those pages the posts themselves are the main content, in document order, and nothing around them is.

Recognised (two or more on a page are needed; one post is an ordinary page and is left to trafilatura):

- StackExchange / MathOverflow: ``div.js-post-body`` (since 2020), ``div.post-text`` inside a ``postcell`` or
  ``answercell`` (before; blog themes use ``post-text`` too, so the cell is required);
- Discourse: ``div.cooked`` (the rendered app) and its crawler view, by the microdata below;
- phpBB (prosilver): ``div.postbody`` ``div.content``;
- schema.org microdata: ``itemprop="text"`` / ``"articleBody"`` of a ``Question``, ``Answer`` or
  ``DiscussionForumPosting`` item, and of a ``Comment`` item on a page that has a ``DiscussionForumPosting``
  (forum replies). A ``Comment`` elsewhere is a comment on an article or an answer, not a post.
"""

from __future__ import annotations

from functools import cache

from lxml import etree


def _class(name: str) -> str:
    # the cheap contains() first: it rejects almost every element before the exact token test
    return f"contains(@class, '{name}') and contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


def _schema(kind: str) -> str:
    return f"contains(@itemtype, 'schema.org/{kind}')"


_POST_ITEM = f"{_schema('Question')} or {_schema('Answer')} or {_schema('DiscussionForumPosting')}"
_FORUM_REPLY = f"{_schema('Comment')} and //*[{_schema('DiscussionForumPosting')}]"

#: (strings one of which the raw page must contain, XPath of the post bodies)
_RULES = (
    (("js-post-body",), f"//div[{_class('js-post-body')}]"),
    (("post-text",), f"//div[{_class('post-text')}][ancestor::*[{_class('postcell')} or {_class('answercell')}]]"),
    (("cooked",), f"//div[{_class('cooked')}]"),
    (("postbody",), f"//div[{_class('postbody')}]//div[{_class('content')}]"),
    (
        ("schema.org/Question", "schema.org/Answer", "schema.org/DiscussionForumPosting"),
        "//*[@itemprop='text' or @itemprop='articleBody']"
        f"[ancestor::*[@itemscope][1][{_POST_ITEM} or ({_FORUM_REPLY})]]",
    ),
)


@cache
def _marker_matcher():
    # all the markers in one Aho-Corasick pass over the page: a third of the time of one ``in`` per marker
    import ahocorasick_rs

    return ahocorasick_rs.AhoCorasick([m for markers, _ in _RULES for m in markers])


@cache
def _query(rules: tuple[int, ...]) -> etree.XPath:
    # one XPath, evaluated in C: a union comes back in document order with each element once (a StackExchange
    # body matches both its class rule and the microdata rule)
    return etree.XPath(" | ".join(_RULES[i][1] for i in rules))


def post_bodies(tree, html: str | None = None) -> list:
    """The post bodies of a Q&A or forum page in document order, or ``[]`` when it has fewer than two.

    ``html``, the source ``tree`` was parsed from, lets a page that names none of the markers skip the XPath:
    substring tests on the raw text cost a tenth of one walk over the tree, and most pages are not forums.
    """
    if html is None:
        rules = tuple(range(len(_RULES)))
    else:
        present = set(_marker_matcher().find_matches_as_strings(html, overlapping=True))
        rules = tuple(i for i, (markers, _) in enumerate(_RULES) if present.intersection(markers))
    if not rules:
        return []
    found = _query(rules)(tree)
    if len(found) < 2:
        return []
    # a post quoted inside another post (or a rule matching an element inside another rule's) is part of it
    chosen = set(found)
    posts = [el for el in found if not any(a in chosen for a in el.iterancestors())]
    return posts if len(posts) >= 2 else []
