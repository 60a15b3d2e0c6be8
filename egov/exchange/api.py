"""REST API of this app (placeholder until it is written)."""

from ninja import Router

router = Router()
