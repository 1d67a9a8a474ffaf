"""The outbox: every email the app sends is first a row (`OutboxMessage`), written in the same transaction as
the event that causes it, then delivered by the worker (course/worker) with retries — see docs/ARCHITECTURE.md."""
