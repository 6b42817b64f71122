from django.urls import path

from registrations import views

app_name = "registrations"

urlpatterns = [
    path("<uuid:public_id>/", views.registration_detail, name="detail"),
    path("<uuid:public_id>/report-payment/", views.report_payment, name="report_payment"),
]
