"""The link in a message to a class that stops such messages: no sign-in, a signed token naming the student.

GET shows the choice and changes nothing (mail scanners open links); the buttons POST it.
"""

from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from class_messages import services


@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    """Stop (or start again) the messages the studio sends to a student's classes."""
    student = services.student_for_unsubscribe_token(token)
    if student is None:
        return render(request, "class_messages/link_invalid.html", status=404)
    changed = None
    if request.method == "POST":
        if request.POST.get("choice") == "resume":
            services.resume_class_messages(student=student)
            changed = "resumed"
        else:
            services.stop_class_messages(student=student)
            changed = "stopped"
    context = {"receiving": services.receives_class_messages(student), "changed": changed, "token": token}
    return render(request, "class_messages/unsubscribe.html", context)
