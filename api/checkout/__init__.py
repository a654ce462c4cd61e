"""The hosted checkout page: its controller and the static files it ships (no CDN)."""
