from django.urls import path

from waitlist import views

app_name = "waitlist"

urlpatterns = [
    path("join/<int:course_id>/", views.join, name="join"),
    path("offer/<str:token>/", views.offer, name="offer"),
    path("<uuid:public_id>/", views.detail, name="detail"),
    path("<uuid:public_id>/leave/", views.leave, name="leave"),
]
