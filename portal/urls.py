from django.urls import path

from portal import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("profile/", views.update_profile, name="profile"),
    path("registrations/<uuid:public_id>/cancel/", views.cancel_registration, name="cancel_registration"),
    path("waitlist/<uuid:public_id>/leave/", views.leave_waitlist, name="leave_waitlist"),
    path("cant-make-it/<str:token>/", views.cant_make_it, name="cant_make_it"),
    path("make-ups/<uuid:public_id>/", views.makeup_picker, name="makeup_picker"),
    path("make-ups/booked/<uuid:public_id>/cancel/", views.cancel_makeup, name="cancel_makeup"),
    path("calendar/renew/", views.renew_calendar, name="renew_calendar"),
    path("calendar/<str:token>.ics", views.calendar_feed, name="calendar_feed"),
]
