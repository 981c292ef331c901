from django.urls import path

from . import views, views_adjust, views_recovery

app_name = "payments"

urlpatterns = [
    path("", views.run_list, name="runs"),
    path("entitlements/", views.entitlement_list, name="entitlements"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    path("runs/<int:pk>/progress/", views.run_progress, name="run_progress"),
    path("runs/<int:pk>/resume/", views.run_resume, name="run_resume"),
    path("runs/<int:pk>/approve/", views.run_approve, name="run_approve"),
    path("runs/<int:pk>/cancel/", views.run_cancel, name="run_cancel"),
    path("runs/<int:pk>/export/<str:fmt>/", views.run_export, name="run_export"),
    path("runs/<int:pk>/reissue/", views.run_reissue, name="run_reissue"),
    path("returns/", views.return_upload, name="returns"),
    path("standards/", views_adjust.standard_list, name="standards"),
    path("standards/new/", views_adjust.standard_new, name="standard_new"),
    path("standards/<int:pk>/", views_adjust.standard_detail, name="standard"),
    path("standards/<int:pk>/progress/", views_adjust.standard_progress, name="standard_progress"),
    path("standards/<int:pk>/approve/", views_adjust.standard_approve, name="standard_approve"),
    path("adjust/", views_adjust.adjust, name="adjust"),
    path("recoveries/", views_recovery.recovery_list, name="recoveries"),
    path("recoveries/new/<int:entitlement>/", views_recovery.recovery_new, name="recovery_new"),
    path("recoveries/<int:pk>/", views_recovery.recovery_detail, name="recovery"),
    path("recoveries/<int:pk>/approve/", views_recovery.recovery_approve, name="recovery_approve"),
    path("recoveries/<int:pk>/reject/", views_recovery.recovery_reject, name="recovery_reject"),
    path("recoveries/<int:pk>/plan/", views_recovery.recovery_plan, name="recovery_plan"),
    path("recoveries/<int:pk>/repay/", views_recovery.recovery_repay, name="recovery_repay"),
]
