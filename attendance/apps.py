from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AttendanceConfig(AppConfig):
    name = "attendance"
    verbose_name = _("Attendance")

    def ready(self):
        from attendance import absences, makeups, services
        from attendance.selectors import AttendanceClaims
        from courses.signals import closure_added
        from registrations import seats
        from registrations.signals import registration_ended
        from studio.emails import register_secret_link

        # The studio closed a day: that day's sessions are canceled, their students told why.
        closure_added.connect(services.cancel_sessions_on_closure, dispatch_uid="attendance_cancel_closed_day")
        # A registration canceled or expired takes its make-up classes with it (they count only while it holds its seat).
        registration_ended.connect(makeups.cancel_makeups_of_registration, dispatch_uid="attendance_cancel_makeups")
        # Excused absences give a seat back on their date, make-up classes take one: the seat rule counts both.
        seats.connect_claims(AttendanceClaims())
        # The email log keeps class reminders without their "can't make it" link; each delivery puts it back in.
        register_secret_link(
            "class_reminder", current=absences.reminder_link_secret, renew=absences.check_reminder_resend
        )
