from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AttendanceConfig(AppConfig):
    name = "attendance"
    verbose_name = _("Attendance")

    def ready(self):
        from attendance import services
        from attendance.selectors import AttendanceClaims
        from courses.signals import closure_added
        from registrations import seats

        # The studio closed a day: that day's sessions are canceled, their students told why.
        closure_added.connect(services.cancel_sessions_on_closure, dispatch_uid="attendance_cancel_closed_day")
        # Excused absences give a seat back on their date, make-up classes take one: the seat rule counts both.
        seats.connect_claims(AttendanceClaims())
