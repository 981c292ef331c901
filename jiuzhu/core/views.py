from django.db import connection
from django.http import HttpRequest, JsonResponse


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability: 200 {"status": "ok", "database": "<vendor>"}."""
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()
    except Exception:  # noqa: BLE001 - any database failure means "not ok"
        return JsonResponse({"status": "error", "database": connection.vendor}, status=503)
    return JsonResponse({"status": "ok", "database": connection.vendor})
