"""Registrations confirmed before the ledger existed get the payment their confirmation stood for, so that "paid =
payments − refunds" and the revenue hold for them too. One row per paid registration with something to pay; the
amount, method, time and note are the ones the confirmation recorded."""

from django.db import migrations


def record_payments_before_the_ledger(apps, schema_editor):
    Registration = apps.get_model("registrations", "Registration")
    Payment = apps.get_model("registrations", "Payment")
    paid = Registration.objects.filter(payment_status="completed", payment_amount__gt=0, payments__isnull=True)
    batch = []
    for registration in paid.order_by("pk").iterator(chunk_size=1000):
        batch.append(
            Payment(
                registration_id=registration.pk,
                amount=registration.payment_amount,
                # A paid registration always had a method: only a free one (amount 0) goes without.
                method=registration.payment_method or "venmo",
                received_at=registration.confirmed_at or registration.created_at,
                note=registration.transaction_note,
                source="before_ledger",
                recorded_by_id=registration.confirmed_by_id,
            )
        )
        if len(batch) >= 1000:
            Payment.objects.bulk_create(batch)
            batch = []
    Payment.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [("registrations", "0009_payments_ledger")]

    operations = [migrations.RunPython(record_payments_before_the_ledger, migrations.RunPython.noop)]
