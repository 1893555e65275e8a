"""Idempotency keys: a POST retried with the same key is done once and answered the same."""
