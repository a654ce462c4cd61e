"""Locust suites (``FastHttpUser``): ``checkout`` (the head-to-head both the engine and the
baseline serve), ``mix`` (the engine's richer checkout mix) and ``create`` (pure create-payment,
engine or ceiling). Shared settings and the measured window live in ``common``; ``stats`` reads
the CSV statistics they write.

    BENCH_API_KEY=sk_test_... locust -f bench/load/checkout.py --headless -u 200 -r 50 \\
        --host http://127.0.0.1:8000 --run-time 2m
"""
