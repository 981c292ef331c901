from django.urls import path, re_path

from . import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("apply/", views.apply, name="apply"),
    path("report/", views.report, name="report"),
    path("track/", views.track, name="track"),
    path("track/upload/", views.track_upload, name="track_upload"),
    path("track/end/", views.track_end, name="track_end"),
    path("publicity/", views.publicity, name="publicity"),
    re_path(r"^publicity/(?P<code>\d{12})/$", views.publicity_village, name="publicity_village"),
    re_path(r"^publicity/(?P<code>\d{12})\.pdf$", views.publicity_pdf, name="publicity_pdf"),
]
