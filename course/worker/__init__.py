"""The background worker (Huey): delivers the outbox and sends the scheduled notices — see queue.py and jobs.py."""
