"""Services: one module per feature, applying the rules across store and adapters."""
