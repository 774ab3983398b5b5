"""Small adapters for web frameworks: ``.django`` and ``.flask``.

Starlette and FastAPI need none: ``app.add_middleware(footfall.PageViewMiddleware,
analytics=analytics)`` and ``app.mount("/", analytics.app)``. Each module imports its
framework, so import only the one you use.
"""
