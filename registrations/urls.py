from django.urls import path

from registrations import views

app_name = "registrations"

urlpatterns: list = []
