from django.urls import include, path

from jiuzhu.core.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/", include("jiuzhu.api.urls")),
    path("", include("jiuzhu.accounts.urls")),
    path("", include("jiuzhu.registry.urls")),
    path("", include("jiuzhu.cases.urls")),
    path("", include("jiuzhu.verification.urls")),
    path("", include("jiuzhu.policyadmin.urls_evaluate")),
    path("policy/", include("jiuzhu.policyadmin.urls")),
    path("payments/", include("jiuzhu.payments.urls")),
    path("", include("jiuzhu.cases.urls_documents")),
    path("", include("jiuzhu.web.urls")),
    path("portal/", include("jiuzhu.portal.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]
