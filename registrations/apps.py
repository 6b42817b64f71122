from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistrationsConfig(AppConfig):
    name = "registrations"
    verbose_name = _("Registrations")

    def ready(self):
        from courses import services as course_services
        from registrations import seats, services
        from studio.emails import register_email_context

        # A slot's capacity cannot go below its seats taken, counted by the one seat rule.
        course_services.connect_seat_counter(seats.seats_taken)
        # The emails a registration queues are rendered after the commit, from the registration.
        register_email_context("registration_received", services.registration_received_context)
        register_email_context("registration_confirmed", services.registration_confirmed_context)
