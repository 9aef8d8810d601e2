"""Notifications: lifecycle events and weekly digests sent to webhooks (``[notify]``).

``payloads`` (pure: a notice in the generic, Slack or Teams shape), ``send`` (one signed POST),
``outbox`` (the cursors over the audit trail, the digest spool, the daemon's thread).
"""
