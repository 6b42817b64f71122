from django.apps import AppConfig


class AttendanceConfig(AppConfig):
    name = "attendance"

    def ready(self):
        from attendance.selectors import AttendanceClaims
        from registrations import seats

        # Excused absences give a seat back on their date, make-up classes take one: the seat rule counts both.
        seats.connect_claims(AttendanceClaims())
