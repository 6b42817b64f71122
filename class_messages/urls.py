from django.urls import path

from class_messages import views

app_name = "class_messages"

urlpatterns = [
    path("stop/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
