"""Staff pages show the staff's navigation with a sign-out, not the students' menu."""

import pytest
from django.urls import reverse
from django.utils import timezone

from attendance.tests.test_views import detail_url, session_on

pytestmark = pytest.mark.django_db

LIST = reverse("attendance:list")


@pytest.fixture
def door(client, django_user_model):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user(username="door", first_name="Dana", is_staff=True)
    user.groups.add(Group.objects.get(name="Instructor"))  # the attendance pages go by the group's permissions
    client.force_login(user)
    return client


def staff_pages():
    session = session_on(timezone.localdate())
    return [LIST, detail_url(session), reverse("attendance:completion", args=[session.course_id])]


def test_staff_pages_show_staff_navigation_with_sign_out_instead_of_the_students_menu(door):
    for url in staff_pages():
        html = door.get(url).content.decode()
        header = html.split("<header", 1)[1].split("</header>", 1)[0]

        assert f'<a class="site-brand" href="{LIST}">' in header
        assert f'href="{LIST}">Attendance</a>' in header
        assert f'<form method="post" action="{reverse("admin:logout")}" class="site-nav-form">' in header
        assert "Sign out (Dana)" in header
        assert "My registrations" not in header
        assert reverse("portal:home") not in header


def test_students_pages_keep_the_students_menu(client):
    header = client.get("/").content.decode().split("<header", 1)[1].split("</header>", 1)[0]

    assert "My registrations" in header
    assert "Sign out" not in header


def test_signing_out_on_the_tablet_signs_out_and_leads_back_to_the_staff_login(door):
    response = door.post(reverse("admin:logout"), {"next": LIST})

    assert response.status_code == 302 and response["Location"] == LIST
    assert door.get(LIST)["Location"].startswith(reverse("admin:login"))
