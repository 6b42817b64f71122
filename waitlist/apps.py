from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WaitlistConfig(AppConfig):
    name = "waitlist"
    verbose_name = _("Waitlist")

    def ready(self):
        from courses.signals import seats_freed
        from registrations import seats
        from studio.emails import register_secret_link
        from waitlist import offers
        from waitlist.selectors import WaitlistClaims

        # Outstanding offers hold seats, and waiting students come before walk-ups: the seat rule counts both.
        seats.connect_claims(WaitlistClaims())
        # A seat freed anywhere (a cancellation, an expiry, a raised capacity) goes to the waitlist first.
        seats_freed.connect(offers.offer_freed_seats_receiver, dispatch_uid="waitlist_offer_freed_seats")
        # The email log keeps offer emails without their link; each delivery makes it again, a resend renews it.
        register_secret_link("waitlist_offer", current=offers.offer_link_secret, renew=offers.renew_offer_link)
