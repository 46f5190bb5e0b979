"""HTTP routes served next to the NiceGUI pages (FastAPI): health, auth, objects, query,
metadata, OpenAPI. `install(app)` wires them, the error envelope and the middleware."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from app import runtime


def install(app: FastAPI) -> None:
    from app.api.errors import install_api_fallback, install_error_handlers
    from app.api.fast_reads import FastReadsMiddleware
    from app.api.health import router as health_router
    from app.api.metrics import RequestTimingMiddleware
    from app.api.metrics import router as metrics_router
    from app.api.middleware import SecurityHeadersMiddleware
    from app.api.openapi import build_openapi
    from app.api.routes_activity import router as activity_router
    from app.api.routes_ai import router as ai_router
    from app.api.routes_auth import router as auth_router
    from app.api.routes_dashboards import router as dashboards_router
    from app.api.routes_export import router as export_router
    from app.api.routes_leads import router as leads_router
    from app.api.routes_metadata import router as metadata_router
    from app.api.routes_objects import READ_ROUTES
    from app.api.routes_objects import router as objects_router
    from app.api.routes_session import router as session_router
    from app.auth.oidc import OidcSessionMiddleware
    from app.logs import RequestIdMiddleware

    install_error_handlers(app)
    # The two page reads skip these (FastReadsMiddleware adds what they add): a new
    # middleware that must see every request needs its part there too.
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(OidcSessionMiddleware)  # its own cookie, /auth/oidc/ only
    app.add_middleware(RequestTimingMiddleware)  # times everything below it
    app.add_middleware(RequestIdMiddleware)  # every log line has its request
    app.add_middleware(FastReadsMiddleware)  # outermost: the two reads, without the rest
    app.include_router(metrics_router)
    app.include_router(health_router)
    app.include_router(auth_router)
    app.include_router(objects_router)
    app.include_router(activity_router)
    app.include_router(session_router)
    app.include_router(export_router)
    app.include_router(dashboards_router)
    app.include_router(leads_router)
    app.include_router(ai_router)
    app.include_router(metadata_router)

    @app.get("/api/openapi.json", include_in_schema=False)
    def openapi() -> JSONResponse:
        return JSONResponse(build_openapi(runtime.services().ql.registry))

    @app.get("/api/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/api/openapi.json", title="HotCRM API")

    app.router.routes[0:0] = READ_ROUTES  # first: every list and record page asks them
    install_api_fallback(app)  # last: only paths no API route claimed
