"""`proofpile.redact`: credentials out, everything else of a URL kept character for character."""

from __future__ import annotations

import pytest

from proofpile.documents import loggable
from proofpile.redact import redact_text, redact_tree, redact_url


@pytest.mark.parametrize("url, want", [
    ("https://user:CANARY@github.com/o/r.git", "https://***@github.com/o/r.git"),
    ("https://ghp_CANARY@github.com/o/r", "https://***@github.com/o/r"),  # a bare token as user name
    ("http://u:p@127.0.0.1:8080/x?y=1#f", "http://***@127.0.0.1:8080/x?y=1#f"),
    ("https://b.s3.amazonaws.com/k.warc.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20230101"
     "&X-Amz-Date=20230101T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=CANARY",
     "https://b.s3.amazonaws.com/k.warc.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=REDACTED"
     "&X-Amz-Date=20230101T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=REDACTED"),
    ("https://b.s3.amazonaws.com/k?AWSAccessKeyId=AKIA&Expires=1&Signature=CANARY",
     "https://b.s3.amazonaws.com/k?AWSAccessKeyId=REDACTED&Expires=1&Signature=REDACTED"),
    ("https://storage.googleapis.com/b/o?X-Goog-Credential=c&X-Goog-Signature=CANARY",
     "https://storage.googleapis.com/b/o?X-Goog-Credential=REDACTED&X-Goog-Signature=REDACTED"),
    ("https://a.blob.core.windows.net/c/b?sv=2022&se=2030&sp=r&sig=CANARY",
     "https://a.blob.core.windows.net/c/b?sv=2022&se=2030&sp=r&sig=REDACTED"),
    ("https://h/p?x-amz-security-token=CANARY&TOKEN=CANARY&api_key=CANARY&page=2",
     "https://h/p?x-amz-security-token=REDACTED&TOKEN=REDACTED&api_key=REDACTED&page=2"),
    ("https://h/cb#access_token=CANARY&state=1", "https://h/cb#access_token=REDACTED&state=1"),
    ("https://arxiv.org/e-print/{id}", "https://arxiv.org/e-print/{id}"),
    ("s3://bucket/crawl/warc.paths.gz", "s3://bucket/crawl/warc.paths.gz"),
    ("/data/arxiv/2301.00001.gz", "/data/arxiv/2301.00001.gz"),
    ("git@github.com:o/r.git", "git@github.com:o/r.git"),  # scp-like: the user is git's, no secret
    ("https://[::1/broken?sig=CANARY", "https://[::1/broken?sig=REDACTED"),  # unparsable: still redacted
])
def test_redact_url(url, want):
    assert redact_url(url) == want
    assert redact_url(want) == want  # idempotent: a manifest redacted twice is the same manifest


def test_redact_text_finds_urls_in_messages_and_keeps_the_rest():
    msg = ("x (https://u:CANARY@h/r.git@abc): unable to access 'https://u:CANARY@h/r.git/': 503; "
           "see http://h/w.gz?X-Amz-Signature=CANARY.")
    out = redact_text(msg)
    assert "CANARY" not in out
    assert out == ("x (https://***@h/r.git@abc): unable to access 'https://***@h/r.git/': 503; "
                   "see http://h/w.gz?X-Amz-Signature=REDACTED.")
    assert redact_text("no url here: a:b@c") == "no url here: a:b@c"


def test_redact_tree_reaches_every_string():
    tree = {"recipe": {"eprint_url": "http://u:CANARY@h/{id}", "n": 3, "ok": True},
            "inputs": [["http://h/x?token=CANARY", None]], "t": ("https://k@h/",)}
    out = redact_tree(tree)
    assert "CANARY" not in repr(out) and out["recipe"]["n"] == 3 and out["t"] == ("https://***@h/",)


def test_loggable_escapes_what_would_forge_a_log_line_or_drive_a_terminal():
    assert loggable("ok/name.tex") == "ok/name.tex"
    assert loggable("a\nWARNING: fake\x1b[2J\r\x07.tex") == "a\\nWARNING: fake\\x1b[2J\\r\\x07.tex"
    assert loggable("Caf\udce9.lean") == "Caf\\xe9.lean"  # not UTF-8: as `printable` records it
