"""Admin for messages to a class: the page that writes one (from a course, a time slot or a session), the list of those
sent, and the students who stopped them. The course, slot and session admins get their "Message this class" action
and button from MessageClassAdminMixin (mixed in by dance_portal/admin.py, which stands above those apps)."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from attendance.models import ClassSession
from class_messages import selectors, services
from class_messages.forms import ComposeForm
from class_messages.models import ClassMessage, MessageOptOut
from class_messages.selectors import Target
from courses.admin_columns import moment_field
from courses.models import Course, CourseSlot
from studio.admin_site import ViewOnly

# What a message can be sent from: the name in its URL and the model.
TARGET_MODELS = {"course": Course, "slot": CourseSlot, "session": ClassSession}
SEND_PERMISSION = "class_messages.add_classmessage"


def compose_url(about) -> str:
    """The page that writes a message to `about` (a course, a time slot or a session)."""
    kind = next(kind for kind, model in TARGET_MODELS.items() if isinstance(about, model))
    return reverse("admin:class_messages_classmessage_compose", args=[kind, about.pk])


class MessageClassAdminMixin:
    """For the course, time slot and session admins: a "Message this class" action (one row at a time) and button."""

    change_form_template = "admin/class_messages/change_form_with_message_button.html"

    def has_message_permission(self, request):
        return request.user.has_perm(SEND_PERMISSION)

    @admin.action(description=_("Message this class"), permissions=["message"])
    def message_class(self, request, queryset):
        rows = list(queryset[:2])
        if len(rows) != 1:
            self.message_user(request, _("Choose one class to message."), messages.WARNING)
            return None
        return HttpResponseRedirect(compose_url(rows[0]))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk is not None and self.has_message_permission(request):
            context = {**context, "message_class_url": compose_url(obj)}
        return super().render_change_form(request, context, add, change, form_url, obj)


@admin.register(ClassMessage)
class ClassMessageAdmin(ViewOnly, admin.ModelAdmin):
    """Messages sent, read-only; a new one is written from its class (MessageClassAdminMixin)."""

    list_display = [
        "sent",
        "subject",
        "course",
        "slot",
        "session",
        "audience",
        "include_waitlist",
        "recipient_count",
        "sent_by",
    ]
    list_filter = ["audience", "include_waitlist", "course"]
    search_fields = ["subject", "body", "course__name"]
    list_select_related = ["course", "slot__course", "session__course", "sent_by"]
    date_hierarchy = "sent_at"
    fields = [
        "sent",
        "sent_by",
        "course",
        "slot",
        "session",
        "audience",
        "include_waitlist",
        "recipient_count",
        "subject",
        "body",
        "emails_link",
    ]
    readonly_fields = fields
    sent = moment_field("sent_at", _("sent at"))

    @admin.display(description=_("emails"))
    def emails_link(self, obj):
        url = reverse("admin:studio_emaillog_changelist")
        return format_html('<a href="{}?q={}">{}</a>', url, f"class_message:{obj.pk}:", _("Each student's email"))

    def get_urls(self):
        return [
            path(
                "compose/<str:kind>/<int:pk>/",
                self.admin_site.admin_view(self.compose_view),
                name="class_messages_classmessage_compose",
            ),
            *super().get_urls(),
        ]

    def compose_view(self, request, kind, pk):
        """Write a message to a class, see who it goes to, then send it (services.send_class_message)."""
        if not request.user.has_perm(SEND_PERMISSION):
            raise PermissionDenied
        model = TARGET_MODELS.get(kind)
        about = model.objects.filter(pk=pk).first() if model is not None else None
        if about is None:
            raise Http404("Nothing to message")
        target = Target.of(about)
        form = ComposeForm(request.POST or None, counts=selectors.audience_counts(target))
        preview = None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                services.clean_message(subject=data["subject"], body=data["body"])
                preview = selectors.recipients(
                    target, audience=data["audience"], include_waitlist=data["include_waitlist"]
                )
                if "send" in request.POST and data["expected_count"] == preview.count:
                    message = services.send_class_message(
                        target=target,
                        audience=data["audience"],
                        include_waitlist=data["include_waitlist"],
                        subject=data["subject"],
                        body=data["body"],
                        sent_by=request.user,
                    )
                    self.message_user(
                        request,
                        ngettext(
                            "Sent “%(subject)s” to %(count)d student.",
                            "Sent “%(subject)s” to %(count)d students.",
                            message.recipient_count,
                        )
                        % {"subject": message.subject, "count": message.recipient_count},
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(reverse("admin:class_messages_classmessage_change", args=[message.pk]))
                if "send" in request.POST:
                    form.add_error(None, _("The class changed while you wrote: check who gets the message now."))
            except ValidationError as error:
                form.add_error(None, error)  # a subject's or message's error goes next to its field
        context = {
            **self.admin_site.each_context(request),
            "title": _("Message a class"),
            "subtitle": None,
            "opts": self.model._meta,
            "target": target,
            "target_url": reverse(f"admin:{about._meta.app_label}_{about._meta.model_name}_change", args=[about.pk]),
            "target_opts": about._meta,
            "form": form,
            "preview": preview,
            "media": self.media + form.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/class_messages/compose.html", context)


@admin.register(MessageOptOut)
class MessageOptOutAdmin(admin.ModelAdmin):
    """Who stopped messages to their classes (with the link in one). Deleting a row starts them again, at the
    student's request."""

    list_display = ["student", "since"]
    search_fields = ["student__first_name", "student__last_name", "student__email"]
    list_select_related = ["student"]
    date_hierarchy = "created_at"
    fields = ["student", "since"]
    readonly_fields = fields
    since = moment_field("created_at", _("since"))

    def has_add_permission(self, request):
        return False  # the student's own choice, made with the link

    def has_change_permission(self, request, obj=None):
        return False
