from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistrationsConfig(AppConfig):
    name = "registrations"
    verbose_name = _("Registrations")

    def ready(self):
        from courses import services as course_services
        from registrations import seats

        # A slot's capacity cannot go below its seats taken, counted by the one seat rule.
        course_services.connect_seat_counter(seats.seats_taken)
