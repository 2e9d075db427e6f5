"""Points every model at its deployed table, from the settings (never frozen at import)."""
from __future__ import annotations

from chalicelib.config import Settings
from chalicelib.store.models import ALL_MODELS


def bind_models(settings: Settings) -> None:
    """Set each model's table name and region; PynamoDB reconnects when the name changes."""
    for model in ALL_MODELS:
        model.Meta.table_name = settings.resource_name(model.Meta.logical_name)
        model.Meta.region = settings.region
        model._connection = None
