"""Small response helpers views share: a leaf module, so views never import the app factory."""

from __future__ import annotations

from fastapi.responses import RedirectResponse


def redirect(url: str) -> RedirectResponse:
    """303 See Other: after a POST the browser GETs the next page."""
    return RedirectResponse(url, status_code=303)
