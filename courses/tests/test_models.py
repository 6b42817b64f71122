import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from courses.models import Course, CoursePricing, CourseSlot
from courses.tests.factories import CourseFactory, CoursePricingFactory, CourseSlotFactory

pytestmark = pytest.mark.django_db


def test_course_ending_before_it_starts_is_rejected():
    with pytest.raises(IntegrityError, match="courses_course_start_before_end"), transaction.atomic():
        CourseFactory(start_date=datetime.date(2025, 9, 8), end_date=datetime.date(2025, 9, 7))


def test_course_may_start_and_end_on_the_same_day():
    course = CourseFactory(start_date=datetime.date(2025, 9, 8), end_date=datetime.date(2025, 9, 8))

    assert course.pk is not None


@pytest.mark.parametrize("capacity", [0, 501])
def test_slot_capacity_outside_1_to_500_is_rejected(capacity):
    with pytest.raises(IntegrityError, match="courses_courseslot_capacity_range"), transaction.atomic():
        CourseSlotFactory(capacity=capacity)


@pytest.mark.parametrize("capacity", [1, 500])
def test_slot_capacity_at_the_limits_is_accepted(capacity):
    assert CourseSlotFactory(capacity=capacity).pk is not None


@pytest.mark.parametrize("end_time", [datetime.time(19, 0), datetime.time(18, 0)])
def test_slot_ending_at_or_before_its_start_is_rejected(end_time):
    with pytest.raises(IntegrityError, match="courses_courseslot_start_before_end"), transaction.atomic():
        CourseSlotFactory(start_time=datetime.time(19, 0), end_time=end_time)


def test_slot_with_both_weekday_and_date_is_rejected():
    course = CourseFactory()

    with pytest.raises(IntegrityError, match="courses_courseslot_weekly_xor_dated"), transaction.atomic():
        CourseSlotFactory(course=course, day_of_week=course.start_date.weekday(), practice_date=course.start_date)


def test_slot_with_neither_weekday_nor_date_is_rejected():
    with pytest.raises(IntegrityError, match="courses_courseslot_weekly_xor_dated"), transaction.atomic():
        CourseSlotFactory(day_of_week=None, practice_date=None)


def test_price_below_zero_is_rejected():
    with pytest.raises(IntegrityError, match="courses_coursepricing_price_not_negative"), transaction.atomic():
        CoursePricingFactory(price=Decimal("-0.01"))


def test_free_class_price_of_zero_is_accepted():
    assert CoursePricingFactory(price=Decimal("0.00")).pk is not None


def test_second_price_of_the_same_type_for_a_slot_is_rejected():
    price = CoursePricingFactory(pricing_type=CoursePricing.PricingType.FULL_PACKAGE)

    with pytest.raises(IntegrityError), transaction.atomic():
        CoursePricingFactory(course_slot=price.course_slot, pricing_type=CoursePricing.PricingType.FULL_PACKAGE)


def test_slot_may_have_one_price_of_each_type():
    price = CoursePricingFactory(pricing_type=CoursePricing.PricingType.FULL_PACKAGE)
    CoursePricingFactory(course_slot=price.course_slot, pricing_type=CoursePricing.PricingType.DROP_IN)

    assert price.course_slot.prices.count() == 2


@pytest.mark.parametrize(
    ("factory", "field", "value", "constraint"),
    [
        (CourseFactory, "course_type", "workshop", "courses_course_course_type_valid"),
        (CourseFactory, "required_student_type", "vip", "courses_course_required_student_type_valid"),
        (CourseFactory, "makeup_policy", "anyone", "courses_course_makeup_policy_valid"),
        (CourseSlotFactory, "day_of_week", 7, "courses_courseslot_day_of_week_valid"),
        (CourseSlotFactory, "difficulty_level", "expert", "courses_courseslot_difficulty_level_valid"),
        (CoursePricingFactory, "pricing_type", "season_pass", "courses_coursepricing_pricing_type_valid"),
    ],
)
def test_course_choice_field_rejects_unknown_value(factory, field, value, constraint):
    row = factory()

    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        type(row).objects.filter(pk=row.pk).update(**{field: value})


def test_slot_on_a_date_without_a_weekday_is_accepted():
    slot = CourseSlotFactory(course=CourseFactory(course_type=Course.CourseType.DROP_IN))

    assert slot.pk is not None
    assert slot.day_of_week is None


def test_difficulty_ranks_put_all_levels_with_beginner_then_intermediate_then_advanced():
    ranks = {
        level: CourseSlotFactory.build(difficulty_level=level).difficulty_rank for level in CourseSlot.DifficultyLevel
    }

    assert ranks == {"all_levels": 0, "beginner": 0, "intermediate": 1, "advanced": 2}
