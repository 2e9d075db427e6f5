"""HTTP routes: `api_*` are the authenticated `/v1` REST API, `public` the pages people open.

The API's Lambda holds every route, and a cold start serves one: a blueprint imports its web
plumbing at the top and a route's own services inside the route (issue 15), except the signup
pages' (`public`), which every public form needs. tests/test_lambda_entries.py holds the list.
"""
