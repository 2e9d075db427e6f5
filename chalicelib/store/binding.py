"""Points every model at its deployed table, from the settings (never frozen at import)."""
from __future__ import annotations

from chalicelib.config import Settings
from chalicelib.store.models import ALL_MODELS


def bind_models(settings: Settings) -> None:
    """Set each model's table name and region.

    A model's connection (and its botocore client, slow to build) is dropped only when the
    binding changes, so rebinding to the same tables is free.
    """
    for model in ALL_MODELS:
        table_name = settings.resource_name(model.Meta.logical_name)
        if model.Meta.table_name != table_name or getattr(model.Meta, "region", None) != settings.region:
            model.Meta.table_name = table_name
            model.Meta.region = settings.region
            model._connection = None
