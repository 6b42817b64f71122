from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClassMessagesConfig(AppConfig):
    """The owner's messages to a class (a course, a time slot or one session): its roster, optionally its waitlist,
    by email, each student free to stop them. It stands above registrations, the waitlist and attendance, whose
    rosters it reads."""

    name = "class_messages"
    verbose_name = _("Messages to a class")

    def ready(self):
        from class_messages import services
        from studio.emails import register_secret_link

        # The email log keeps class messages without their unsubscribe link's token; each delivery puts it back in.
        register_secret_link(
            "class_message", current=services.unsubscribe_link_secret, renew=services.check_message_resend
        )
