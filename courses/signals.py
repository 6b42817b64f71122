from django.dispatch import Signal

# A slot has seats free that it did not have a moment ago (a registration canceled or run out, an offer declined, its
# capacity raised): sent with `slot_id` after the commit of the write that freed them. The waitlist connects to it and
# offers the seats to the students waiting first.
seats_freed = Signal()

# The studio closes a day (`date`, `reason`): sent after the commit. Attendance cancels the sessions of that day.
closure_added = Signal()
