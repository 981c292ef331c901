"""The /api/v1 NinjaAPI: bearer-token auth on every operation except ``POST /auth/token``."""

from __future__ import annotations

from ninja import NinjaAPI

from . import errors
from .docs import LocalSwagger
from .routes import auth, cases, households, me, payments, persons, policy
from .tokens import BearerAuth

api = NinjaAPI(
    title="jiuzhu 救助 API",
    version="1",
    description=(
        "Typed JSON API of the low-income population registry. Authenticate with `POST /api/v1/auth/token`, "
        "then send `Authorization: Bearer <token>`. Every read is limited to your area; objects outside it "
        "are 404 like missing ones. Protected fields are masked; use the reveal endpoints (audited)."
    ),
    urls_namespace="api-v1",
    auth=BearerAuth(),
    docs=LocalSwagger(),
    docs_url="/docs",
    openapi_url="/openapi.json",
)
errors.install(api)
api.add_router("/auth", auth.router)
api.add_router("/households", households.router)
api.add_router("/persons", persons.router)
api.add_router("/me", me.router)
api.add_router("/policy", policy.router)
api.add_router("/cases", cases.router)
api.add_router("/payments", payments.router)
