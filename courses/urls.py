from django.urls import path

from courses import views

app_name = "courses"

urlpatterns = [
    path("", views.course_list, name="list"),
    path("courses/<int:course_id>/", views.course_detail, name="detail"),
]
