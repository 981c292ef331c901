"""Time the 调标 preview on the demo database (docs/policy-admin.md, "How fast the preview is").

    JIUZHU_MODE=demo .venv/bin/jiuzhu demo-setup --households 20000
    JIUZHU_MODE=demo .venv/bin/python bench/policy_preview.py [--runs 3] [--scope 6109]

POSTs the preview of 农村低保标准 → 700.00 as the demo province policy admin through Django's test client (view,
preview and template, as a browser would get it) and prints wall and CPU time of each run. Nothing is saved."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--scope", default="6109", help="a scope the admin may change (default 安康市)")
    ap.add_argument("--user", default="pa_shaanxi")
    ap.add_argument("--value", default="700.00")
    ap.add_argument("--date", default="2026-01-01")
    args = ap.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiuzhu.settings")
    import django

    django.setup()
    from django.test import Client
    from django.test.utils import setup_test_environment

    from jiuzhu.accounts.models import User
    from jiuzhu.registry.models import Household

    setup_test_environment()  # so that the response carries its template context
    client = Client()
    client.force_login(User.objects.get(username=args.user))
    client.get("/policy/parameters/")  # load packs, rules and the store once, as a running server has
    n = Household.objects.filter(area_code__startswith=args.scope).count()
    print(f"{n:,} households in {args.scope}")
    data = {"scope": args.scope, "value": args.value, "effective_from": args.date, "source": "bench",
            "confidence": "H", "action": "preview"}  # fmt: skip
    for _ in range(args.runs):
        t, cpu = time.perf_counter(), time.process_time()
        r = client.post("/policy/parameters/dibao.standard.rural/change/", data)
        wall, cpu = time.perf_counter() - t, time.process_time() - cpu
        if r.status_code != 200 or "preview" not in r.context:
            raise SystemExit(f"no preview: HTTP {r.status_code}")
        s = r.context["preview"]
        d: dict[str, Any] = next((p for p in s["programmes"] if p["key"] == "dibao"), {})
        print(f"wall {wall:.2f} s, cpu {cpu:.2f} s (load {os.getloadavg()[0]:.1f}); {s['households']:,} evaluated, "
              f"{s['changed_total']:,} changed; 低保 {d.get('eligible_before')} → {d.get('eligible_after')} households, "
              f"{d.get('cost_before')} → {d.get('cost_after')} 元/月; stages {s.get('timing')}")  # fmt: skip


if __name__ == "__main__":
    main()
