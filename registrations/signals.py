from django.dispatch import Signal

# A registration stopped holding its seat for good: canceled, or expired when its hold ran out. Sent with
# `registration` inside the transaction that changed its status, under its slot's lock, so that what the apps above
# keep of it changes with it or not at all. Attendance connects to it and cancels the make-up classes booked for the
# registration's missed classes, which count only while it holds its seat (re-opening it must not bring them back).
registration_ended = Signal()
