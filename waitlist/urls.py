from django.urls import path

from waitlist import views

app_name = "waitlist"

urlpatterns: list = []
