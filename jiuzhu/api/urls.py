"""Mounted at ``api/v1/`` by ``jiuzhu/urls.py``; the module's ``app_name`` makes the URL namespace ``api-v1``
that ninja reverses for its docs page."""

from django.urls import path

from .docs import docs_asset
from .main import api

_patterns, _app, _namespace = api.urls
app_name = api.urls_namespace
urlpatterns = [path("docs/assets/<str:name>", docs_asset, name="docs-asset"), *_patterns]
