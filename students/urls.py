from django.urls import path

from students import views

app_name = "students"

urlpatterns = [
    path("", views.portal_home, name="portal"),
    path("link-sent/", views.link_sent, name="link_sent"),
    path("sign-in/<str:token>/", views.sign_in, name="sign_in"),
    path("sign-out/", views.sign_out, name="sign_out"),
    path("profile/", views.update_profile, name="profile"),
    path("registrations/<uuid:public_id>/cancel/", views.cancel_registration, name="cancel_registration"),
    path("waitlist/<uuid:public_id>/leave/", views.leave_waitlist, name="leave_waitlist"),
    path("calendar/renew/", views.renew_calendar, name="renew_calendar"),
    path("calendar/<str:token>.ics", views.calendar_feed, name="calendar_feed"),
]
