"""Scheduled work: the scheduler, the outbox delivery worker and the jobs (digest, reminders, nudges, …).

Jobs compute what to send and put it in the outbox; the delivery worker sends. A module that needs Slack
scopes declares them as `SCOPES` so the manifest includes them.
"""
