from django.contrib import admin
from django.urls import include, path

from dance_portal import views
from studio import branding

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("branding.css", branding.branding_css, name="branding_css"),
    path("branding-admin.css", branding.admin_branding_css, name="admin_branding_css"),
    path("branding/logo", branding.studio_logo, name="studio_logo"),
    path("admin/", admin.site.urls),
    path("", include("registrations.urls")),
    path("waitlist/", include("waitlist.urls")),
    path("attendance/", include("attendance.urls")),
    # The student portal: its pages, and signing in to it with an emailed link.
    path("me/", include("portal.urls")),
    path("me/", include("students.urls")),
    # The link in a message to a class that stops such messages.
    path("messages/", include("class_messages.urls")),
]

handler400 = "dance_portal.views.bad_request"
handler404 = "dance_portal.views.page_not_found"
handler500 = "dance_portal.views.server_error"
