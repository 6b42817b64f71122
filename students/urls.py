from django.urls import path

from students import views

app_name = "students"

urlpatterns = [
    path("link-sent/", views.link_sent, name="link_sent"),
    path("sign-in/<str:token>/", views.sign_in, name="sign_in"),
    path("sign-out/", views.sign_out, name="sign_out"),
]
