from django.urls import path

from registrations import views

app_name = "registrations"

# Addresses shared on WhatsApp and printed on posters: "/" and "/courses/<id>/" stay as they are (README "Addresses").
urlpatterns = [
    path("", views.catalog, name="catalog"),
    path("courses/<int:course_id>/", views.course_detail, name="course"),
    path("courses/<int:course_id>/register/", views.create, name="create"),
    path("registrations/<uuid:public_id>/", views.registration_detail, name="detail"),
    path("registrations/<uuid:public_id>/qr.svg", views.registration_qr, name="venmo_qr"),
    path("registrations/<uuid:public_id>/report-payment/", views.report_payment, name="report_payment"),
]
