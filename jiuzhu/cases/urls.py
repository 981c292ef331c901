from django.urls import path

from . import views, views_dynamic, views_settings

app_name = "cases"
urlpatterns = [
    path("cases/", views.case_list, name="list"),
    path("cases/new/", views.case_new, name="new"),
    path("cases/deadlines/", views.deadline_list, name="deadlines"),
    path("cases/reserve/", views.reserve, name="reserve"),
    path("cases/relatives/", views.relatives, name="relatives"),
    path("cases/settings/", views_settings.procedure_settings, name="settings"),
    path("cases/workdays/", views_settings.workdays, name="workdays"),
    path("cases/attachments/<int:pk>/", views.attachment_download, name="attachment"),
    path("cases/reviews/", views_dynamic.review_list, name="reviews"),
    path("cases/reviews/schedule/", views_dynamic.review_schedule, name="reviews_schedule"),
    path("cases/reviews/<int:pk>/", views_dynamic.review_detail, name="review"),
    path("cases/reviews/<int:pk>/notice.pdf", views_dynamic.review_notice, name="review_notice"),
    path("cases/reviews/<int:pk>/exit-end.pdf", views_dynamic.review_exit_end_notice, name="review_exit_end"),
    path("cases/<int:pk>/", views.case_detail, name="detail"),
    path("cases/<int:pk>/act/<slug:action>/", views.case_action, name="action"),
]
