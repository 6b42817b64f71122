from django.urls import path

from attendance import views

app_name = "attendance"

urlpatterns = [
    path("", views.session_list, name="list"),
    path("<int:session_id>/", views.session_detail, name="detail"),
    path("<int:session_id>/mark/<int:student_id>/", views.mark_student, name="mark"),
    path("course/<int:course_id>/", views.course_completion, name="completion"),
    path("course/<int:course_id>/export.csv", views.course_completion_csv, name="export"),
]
