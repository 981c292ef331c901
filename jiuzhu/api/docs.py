"""The Swagger UI page without a CDN: the page and its three assets (shipped inside django-ninja) are served
from /api/v1/docs, so the docs work offline and under the site CSP (``script-src 'self'``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import ninja
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import escape
from ninja.openapi.docs import DocsBase

ASSET_DIR = Path(ninja.__file__).parent / "static" / "ninja"
ASSETS = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-init.js": "text/javascript",
}
PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<link rel="stylesheet" href="{assets}swagger-ui.css"></head>
<body data-csrf-token="" data-api-csrf="">
<script type="application/json" id="swagger-settings">{settings}</script>
<div id="swagger-ui"></div>
<script src="{assets}swagger-ui-bundle.js"></script>
<script src="{assets}swagger-ui-init.js"></script>
</body></html>"""


class LocalSwagger(DocsBase):
    def render_page(self, request: HttpRequest, api: Any, **kwargs: Any) -> HttpResponse:
        settings = {"url": self.get_openapi_url(api, kwargs), "layout": "BaseLayout", "deepLinking": True}
        body = PAGE.format(
            title=escape(api.title),
            assets=reverse(f"{api.urls_namespace}:docs-asset", kwargs={"name": "x"})[:-1],
            settings=json.dumps(settings).replace("<", "\\u003c"),
        )
        return HttpResponse(body)


def docs_asset(request: HttpRequest, name: str) -> HttpResponse:
    if name not in ASSETS:
        raise Http404
    response = HttpResponse((ASSET_DIR / name).read_bytes(), content_type=ASSETS[name])
    response["Cache-Control"] = "public, max-age=3600"
    return response
