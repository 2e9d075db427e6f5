"""The Lambda of import_worker: its handler alone (chalicelib.workers.imports)."""
from __future__ import annotations

from chalicelib.lambda_entry import function_handler
from chalicelib.workers import imports

handler = function_handler("import_worker", imports.worker)
