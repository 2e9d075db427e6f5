"""`/v1/lists/{list_id}/imports`: CSV imports, applied in chunks by the import worker."""
from __future__ import annotations

from typing import Any

from chalicelib.web.routes import ApiBlueprint, ApiCall

api = ApiBlueprint(__name__)

# Under Lambda's 6 MB request payload; about 100,000 rows of address and name.
MAX_IMPORT_BYTES = 5 * 1024 * 1024


@api.route("/v1/lists/{list_id}/imports", "POST",
           "Import a CSV file (header row, at most 100,000 rows and 800,000 filled cells; columns: email, "
           "contact fields, the list's attributes, consent_given_at/consent_ip/consent_user_agent/"
           "consent_form_url/consent_text_version). "
           "Rows with consent proof are confirmed; the others get a double opt-in mail.",
           write=True, status=202, csv_body_limit=MAX_IMPORT_BYTES)
def post_import(call: ApiCall, list_id: str) -> dict[str, Any]:
    from chalicelib.services.imports import import_report, start_import
    return import_report(start_import(call.principal.account_id, call.principal.key_id, list_id, call.csv))


@api.route("/v1/lists/{list_id}/imports/{import_id}", "GET",
           "An import's progress, counts and invalid rows by line number")
def get_one_import(call: ApiCall, list_id: str, import_id: str) -> dict[str, Any]:
    from chalicelib.services.imports import import_of, import_report
    return import_report(import_of(call.principal.account_id, list_id, import_id))
