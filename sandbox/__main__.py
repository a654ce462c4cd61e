"""``python -m sandbox [--host H] [--port P]``: run the gateway sandbox."""

from __future__ import annotations

import argparse

from sandbox.app import serve


def main() -> None:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(prog="python -m sandbox", description="Payment gateway sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    serve(args.host, args.port)


if __name__ == "__main__":
    main()
