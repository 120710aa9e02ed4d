"""The REST API (FastAPI): a thin layer over the node, with OpenAPI at /docs."""

from salus.api.app import create_app

__all__ = ["create_app"]
