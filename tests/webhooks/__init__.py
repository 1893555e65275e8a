"""Outgoing webhooks: the API, the outbox, the delivery worker."""
