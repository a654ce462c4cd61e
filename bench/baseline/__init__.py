"""The synchronous baseline: the checkout API subset done the way the old service did it.

Falcon (WSGI) under gunicorn, psycopg 3 (blocking, prepared statements, one connection pool per
worker process) and ``requests`` (blocking, keep-alive) to the sandbox's Razorpay API, over the
engine's own schema. Endpoints: ``POST /v1/payments``, ``POST /v1/payments/{id}/confirm`` (card,
through Razorpay: order, S2S JSON payment, fetch) and ``GET /v1/payments/{id}``, with API-key
auth and idempotency keys. Each request does the same durable writes as the engine's: a payment
row, an attempt row, outbox events and the idempotency record.

Served two ways (``python -m bench.baseline.serve``): sync workers (2 x cores + 1) and gthread
workers (threads per worker: the best a synchronous stack can do).
"""
