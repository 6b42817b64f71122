"""Crew eligibility (README "Crew eligibility"): the students whose attendance in chosen courses over a chosen period
reaches a threshold, from the completion the attendance app already computes (attendance.selectors), summed over the
courses. Making them crew members goes through students.services.classify_students, like every classification.
"""

import datetime
from dataclasses import dataclass, field

from attendance.selectors import completion_for_course
from courses.models import Course
from courses.selectors import studio_today
from students.models import Student


@dataclass
class CourseAttendance:
    course: Course
    attended: int  # present + late + make-ups attended (a make-up counts for the class it made up)
    held: int  # the classes held in the period that the student was registered (or marked) for


@dataclass
class CrewCandidate:
    student: Student
    courses: list[CourseAttendance] = field(default_factory=list)

    @property
    def attended(self) -> int:
        return sum(row.attended for row in self.courses)

    @property
    def held(self) -> int:
        return sum(row.held for row in self.courses)

    @property
    def percent(self) -> int:
        return round(100 * self.attended / self.held)

    def reaches(self, threshold: int) -> bool:
        # Compared in whole numbers: 4 of 5 reaches 80 exactly, whatever rounding would say.
        return self.attended * 100 >= threshold * self.held


def crew_eligibility(
    *,
    courses: list[Course],
    start: datetime.date,
    end: datetime.date,
    threshold: int,
    today: datetime.date | None = None,
) -> list[CrewCandidate]:
    """The students whose (present + late + make-ups attended) ÷ classes held, over `courses` between `start` and `end` (classes held so
    far: not canceled, not after today), reaches `threshold` percent; best first, then by name. A student held to no
    class in the period is not listed. Six queries per course (completion_for_course)."""
    until = min(end, today or studio_today())
    candidates: dict[int, CrewCandidate] = {}
    for course in courses:
        matrix = completion_for_course(course, today=until, since=start)
        for row in matrix.rows:
            if row.expected:
                candidate = candidates.setdefault(row.student.pk, CrewCandidate(student=row.student))
                candidate.courses.append(CourseAttendance(course=course, attended=row.attended, held=row.expected))
    reaching = [candidate for candidate in candidates.values() if candidate.reaches(threshold)]
    return sorted(
        reaching,
        key=lambda c: (-c.attended * 10_000 // c.held, c.student.last_name.casefold(), c.student.first_name.casefold()),
    )
