"""The one place that decides what of a URL may be written down: every log line, error message, manifest,
document `meta`, card and identity file goes through `redact_url` / `redact_text` / `redact_tree`.

Inputs are often only reachable with a credential inside the URL (`https://user:token@host/repo.git`, an S3
presigned WARC URL, an e-print mirror behind basic auth). The reader needs the raw URL to fetch; nothing it
*writes* may carry the secret, because build outputs are published. Redaction keeps every other character
of the URL as it was, so outputs stay deterministic and still say where a record came from, and the redacted
spot says so visibly (`https://***@host/...`, `X-Amz-Signature=REDACTED`).

What counts as secret errs on the side of removing:

- all userinfo (`user:password@`, and a bare `token@`, which GitHub and GitLab accept as a credential);
- query (and `#k=v` fragment) parameters named in `SECRET_PARAMS`, case-insensitively: AWS SigV4/SigV2
  presigned URLs, GCS signed URLs, Azure SAS `sig`, and the generic names services use for tokens and keys.
  Parameters that are public by design (`X-Amz-Date`, `X-Amz-Expires`, Azure `se`/`sv`/`sp`) are kept.

Credentials are not part of *what* a build reads, so a build's identity uses the redacted URL: a rotated
token or a re-signed URL resumes the same build instead of being refused as other inputs.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote_plus, urlsplit

#: query/fragment parameter names (lower case) whose values are credentials
SECRET_PARAMS = frozenset({
    # AWS S3 presigned URLs: SigV4 and SigV2
    "x-amz-signature", "x-amz-credential", "x-amz-security-token", "signature", "awsaccesskeyid",
    # Google Cloud Storage signed URLs
    "x-goog-signature", "x-goog-credential", "googleaccessid",
    # Azure shared access signatures: only `sig` is the secret
    "sig",
    # generic tokens, keys and passwords
    "token", "access_token", "refresh_token", "id_token", "auth", "authorization", "private_token",
    "api_key", "apikey", "api-key", "key", "secret", "client_secret", "password", "passwd", "pwd",
})
#: endings of parameter names (lower case, `-` read as `_`) that name a credential whatever the service calls
#: the rest (`hf_token`, `accessToken`, `client-secret`, `aws_secret_access_key`)
SECRET_SUFFIXES = ("token", "secret", "signature", "password", "passwd", "credential", "credentials", "apikey",
                   "api_key", "access_key", "secret_key", "private_key", "secret_access_key")
#: credentials recognisable by their shape wherever they appear (a path, an error message): Hugging Face,
#: GitHub and GitLab tokens
_TOKEN_SHAPES = re.compile(r"\b(?:hf_[A-Za-z0-9]{30,}|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}"
                           r"|glpat-[A-Za-z0-9_-]{20,})")
USERINFO = "***"
REDACTED = "REDACTED"

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
#: a URL inside free text: scheme, then anything up to whitespace or a quote/bracket that ends it in prose/JSON
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>`]+")
_TRAILING_PUNCTUATION = ".,;:)]}!"


def _secret_name(name: str) -> bool:
    return name in SECRET_PARAMS or name.replace("-", "_").endswith(SECRET_SUFFIXES)


def _redact_params(params: str) -> str:
    """`a=1&X-Amz-Signature=s` -> `a=1&X-Amz-Signature=REDACTED`; separators and order kept as they were."""
    out = []
    for piece in re.split(r"([&;])", params):
        name, eq, _ = piece.partition("=")
        if eq and _secret_name(unquote_plus(name).strip().lower()):
            piece = f"{name}={REDACTED}"
        out.append(piece)
    return "".join(out)


def redact_url(url: str) -> str:
    """`url` with userinfo and secret parameters replaced; anything else (paths, scp-like git addresses,
    URLs without secrets) comes back unchanged, character for character."""
    if not isinstance(url, str) or not _SCHEME.match(url):
        return url
    scheme_end = url.index("://") + 3
    rest = url[scheme_end:]
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    netloc, tail = rest[:cut], rest[cut:]
    try:
        has_userinfo = urlsplit(url).username is not None
    except ValueError:  # a malformed port or IPv6 literal: decide on the text alone
        has_userinfo = "@" in netloc
    if has_userinfo or "@" in netloc:
        netloc = f"{USERINFO}@{netloc.rpartition('@')[2]}"
    path, hash_, fragment = tail.partition("#")
    path, q, query = path.partition("?")
    if q:
        query = _redact_params(query)
    if hash_ and "=" in fragment:  # OAuth implicit flow puts `access_token=` in the fragment
        fragment = _redact_params(fragment)
    return _TOKEN_SHAPES.sub(REDACTED, url[:scheme_end] + netloc + path + q + query + hash_ + fragment)


def redact_text(text: str) -> str:
    """Every URL inside a log line or error message redacted, and every token of a known shape; the
    surrounding text is left alone."""
    if not isinstance(text, str):
        return text
    if "_" in text or "-" in text:
        text = _TOKEN_SHAPES.sub(REDACTED, text)
    if "://" not in text:
        return text

    def one(match: re.Match) -> str:
        url = match.group(0)
        stripped = url.rstrip(_TRAILING_PUNCTUATION)
        return redact_url(stripped) + url[len(stripped):]

    return _URL_IN_TEXT.sub(one, text)


def redact_tree(value: Any) -> Any:
    """A JSON-like structure (manifest, recipe dump, identity) with every string redacted by `redact_text`."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {redact_text(k) if isinstance(k, str) else k: redact_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_tree(v) for v in value)
    return value

