"""The viewer's web application: Starlette routes over the read-only store, pages rendered on the server with
Jinja2 (autoescaped) and served with a Content-Security-Policy that allows no script at all and nothing from
another origin, so a hostile document can neither run code nor make the browser fetch anything."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

from markupsafe import Markup
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from proofpile.inspect import mathhtml, reports, scores, search, views
from proofpile.inspect.store import BuildStore, Document, InspectError

HERE = Path(__file__).parent
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'; script-src 'none'")
CLUSTERS_PER_PAGE = 20
#: a document's text is shown in parts of this many characters: browsers lay out a megabyte-long line in
#: seconds (measured: 2-5 s in Chromium for a 1 MB line), a part of this size in milliseconds
PART_CHARS = 50_000


class SecurityHeaders:
    """ASGI middleware adding the CSP and friends to every response."""

    HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
               (b"referrer-policy", b"no-referrer")]

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *self.HEADERS]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def doc_href(hit) -> str:
    w = hit.where
    return f"/doc/{w['shard']}/{w['row']}" if hit.kind == "kept" else f"/dropped/{w['subset']}/{w['row']}"


def create_app(build: str | BuildStore) -> Starlette:
    store = build if isinstance(build, BuildStore) else BuildStore(build)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals.update(build_url=store.url, doc_href=doc_href)

    def page(request: Request, name: str, status: int = 200, **ctx) -> Response:
        ctx.setdefault("title", name.split(".")[0])
        return templates.TemplateResponse(request, name, ctx, status_code=status)

    def not_found(request: Request, message: str) -> Response:
        return page(request, "error.html", 404, title="not found", message=message)

    async def funnel(request: Request):
        return page(request, "funnel.html", title="funnel", rows=views.funnel(store), subsets=store.subsets,
                    totals={"documents": sum(s.rows for s in store.shards), "shards": len(store.shards)})

    async def search_page(request: Request):
        q = search.Query.from_params(request.query_params)
        result = search.search(store, q)
        return page(request, "search.html", title="search", q=q, result=result, facets=search.facets(store),
                    next_href="/search?" + urlencode(q.params(offset=q.offset + q.limit)),
                    prev_href="/search?" + urlencode(q.params(offset=max(0, q.offset - q.limit))))

    def show(request: Request, doc: Document) -> Response:
        raw = request.query_params.get("raw") == "1"
        math = views.renders_math(doc)
        parts = max(1, -(-len(doc.text) // PART_CHARS))
        try:
            part = min(max(0, int(request.query_params.get("part", "0"))), parts - 1)
        except ValueError:
            part = 0
        text = doc.text[part * PART_CHARS : (part + 1) * PART_CHARS]
        rendered, formulas = ("", 0) if raw or not math else mathhtml.render(text)
        original, original_title = None, ""
        if not raw:
            if doc.meta.get("warc_file"):
                original, original_title = views.warc_html(doc), "original HTML (WARC record)"
            elif doc.meta.get("arxiv_id") and doc.meta.get("origin"):
                original, original_title = views.arxiv_source(doc), "flattened LaTeX source (before cleaning)"
        meta_rows = [(k, v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
                     for k, v in sorted(doc.meta.items())]
        return page(request, "doc.html", title=f"document {doc.id}", doc=doc, raw=raw, math=math, text=text,
                    part=part, parts=parts,
                    rendered=Markup(rendered), formulas=formulas, original=original, original_title=original_title,
                    meta_rows=meta_rows)

    async def kept_doc(request: Request):
        shard, row = request.path_params["shard"], request.path_params["row"]
        if not 0 <= shard < len(store.shards):
            return not_found(request, f"no shard {shard}")
        try:
            return show(request, store.kept(shard, row))
        except IndexError as e:
            return not_found(request, str(e))

    async def dropped_doc(request: Request):
        try:
            return show(request, store.dropped_doc(request.path_params["subset"], request.path_params["row"]))
        except IndexError as e:
            return not_found(request, str(e))

    async def work_doc(request: Request):
        try:
            return show(request, store.work_doc(request.query_params.get("file", ""), int(request.query_params.get("row", "-1"))))
        except (IndexError, ValueError) as e:
            return not_found(request, str(e))

    async def find(request: Request):
        """A document by id: in the corpus, else in the finalize inputs (removed by dedup or decontamination)."""
        subset, doc_id = request.path_params["subset"], request.path_params["doc_id"]
        hit = search.search(store, search.Query(subset=subset, id=doc_id, limit=1)).hits
        if hit:
            return RedirectResponse(doc_href(hit[0]), status_code=302)
        found = store.find_work(subset, doc_id)
        if found:
            return RedirectResponse("/work?" + urlencode({"file": found[0], "row": found[1]}), status_code=302)
        return not_found(request, f"document {doc_id} not found in {subset}")

    async def scores_page(request: Request):
        want_subset, want_axis = request.query_params.get("subset"), request.query_params.get("axis")
        hists = []
        for subset in store.subsets:
            for axis in scores.AXES:
                h = scores.histogram(store, subset, axis)
                if h is None:
                    continue
                form = {"svg": Markup(scores.svg(h)), "value": "" if h.threshold is None else h.threshold, "whatif": None}
                if subset == want_subset and axis.name == want_axis:
                    try:
                        value = float(request.query_params.get("threshold", ""))
                        form["value"] = value
                        form["whatif"] = scores.what_if(store, subset, axis, value)
                    except ValueError:
                        pass
                hists.append((h, form))
        return page(request, "scores.html", title="scores", hists=hists)

    async def decontam(request: Request):
        hits = reports.contamination_hits(store)
        for h in hits:
            h.doc_html, h.item_html = Markup(h.doc_html), Markup(h.item_html)
        return page(request, "decontam.html", title="decontamination", hits=hits,
                    summary=store.contamination_summary)

    async def dedup(request: Request):
        ids = reports.cluster_ids(store)
        try:
            p = max(0, int(request.query_params.get("page", "0")))
        except ValueError:
            p = 0
        chunk = ids[p * CLUSTERS_PER_PAGE : (p + 1) * CLUSTERS_PER_PAGE]
        return page(request, "dedup.html", title="near-dedup", clusters=reports.clusters(store, chunk), total=len(ids),
                    page=p, more=(p + 1) * CLUSTERS_PER_PAGE < len(ids))

    async def style(request: Request):
        return Response((HERE / "templates" / "style.css").read_text(), media_type="text/css")

    async def unreadable(request: Request, exc: Exception):
        return page(request, "error.html", 500, title="unreadable file", message=str(exc))

    app = Starlette(exception_handlers={InspectError: unreadable}, middleware=[Middleware(SecurityHeaders)], routes=[
        Route("/", funnel), Route("/search", search_page),
        Route("/doc/{shard:int}/{row:int}", kept_doc), Route("/dropped/{subset}/{row:int}", dropped_doc),
        Route("/work", work_doc), Route("/find/{subset}/{doc_id}", find),
        Route("/scores", scores_page), Route("/decontam", decontam), Route("/dedup", dedup),
        Route("/static/style.css", style),
    ])

    app.state.store = store
    return app
