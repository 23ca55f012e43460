"""Alerts: the outbox's pending rows → one Apprise digest per channel + one Prefect event per alert.

Public API: :func:`alerts.deliver.deliver_pending`, :class:`alerts.model.Alert`,
:func:`alerts.digest.render_digest`, :func:`alerts.channels.send` / :func:`alerts.channels.channel_key`,
the outboxes in :mod:`alerts.outbox`, and the local webhook sink :mod:`alerts.sink`.
"""
